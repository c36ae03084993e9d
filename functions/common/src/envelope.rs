//! Which trigger sent an event, recognised from the event itself: a webhook (Function URL
//! or API Gateway HTTP API, payload 2.0), an EventBridge event (a rule or Scheduler), or a
//! Step Functions task (anything else: the state's input as it is).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use http::HeaderValue;
use serde_json::Value;

use crate::errors::FunctionError;

pub enum Envelope {
    Webhook(Box<LambdaFunctionUrlRequest>),
    Event(Box<EventBridgeEvent<Value>>),
    Task(Value),
}

impl Envelope {
    pub fn detect(event: Value) -> Result<Envelope, FunctionError> {
        let is_http = event
            .get("requestContext")
            .and_then(|c| c.get("http"))
            .is_some()
            && event.get("version").and_then(Value::as_str) == Some("2.0");
        let is_event = event.get("detail-type").is_some() && event.get("source").is_some();
        if is_http {
            serde_json::from_value(event)
                .map(|request| Envelope::Webhook(Box::new(request)))
                .map_err(|err| {
                    FunctionError::new(
                        "Request.Invalid",
                        format!("an HTTP event that is not payload 2.0: {err}"),
                    )
                })
        } else if is_event {
            serde_json::from_value(event)
                .map(|event| Envelope::Event(Box::new(event)))
                .map_err(|err| {
                    FunctionError::new(
                        "Request.Invalid",
                        format!("an EventBridge event that does not parse: {err}"),
                    )
                })
        } else {
            Ok(Envelope::Task(event))
        }
    }
}

/// The raw body the caller sent (Function URLs base64-encode bodies they deem binary).
pub fn raw_body(request: &LambdaFunctionUrlRequest) -> Result<Vec<u8>, String> {
    let body = request.body.clone().unwrap_or_default();
    if request.is_base64_encoded {
        crate::base64::decode(&body)
            .ok_or_else(|| "the body is marked base64 but is not".to_owned())
    } else {
        Ok(body.into_bytes())
    }
}

pub fn method(request: &LambdaFunctionUrlRequest) -> &str {
    request
        .request_context
        .http
        .method
        .as_deref()
        .unwrap_or("GET")
}

/// A JSON answer for a webhook, as a Function URL (or HTTP API) returns it.
pub fn http_answer(status: u16, body: &Value) -> Value {
    let mut response = LambdaFunctionUrlResponse::default();
    response.status_code = i64::from(status);
    response.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response.body = Some(body.to_string());
    serde_json::to_value(response).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_trigger_is_recognised_from_its_shape() {
        let url = json!({"version": "2.0", "rawPath": "/", "headers": {}, "requestContext": {"http": {"method": "POST"}, "timeEpoch": 0}, "isBase64Encoded": false});
        assert!(matches!(Envelope::detect(url), Ok(Envelope::Webhook(_))));
        let event = json!({"id": "e1", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        assert!(matches!(Envelope::detect(event), Ok(Envelope::Event(_))));
        let task = json!({"request": {"cloud": "tencent"}});
        assert!(matches!(Envelope::detect(task), Ok(Envelope::Task(_))));
    }

    #[test]
    fn answers_have_the_function_url_shape() {
        let answer = http_answer(202, &json!({"job_id": "j"}));
        assert_eq!(answer["statusCode"], 202);
        assert_eq!(answer["headers"]["content-type"], "application/json");
        assert_eq!(answer["body"], "{\"job_id\":\"j\"}");
        assert_eq!(answer["isBase64Encoded"], false);
    }
}
