//! Which trigger sent an event, recognised from the event itself: a webhook (Function URL
//! or API Gateway HTTP API, payload 2.0), an EventBridge event (a rule or Scheduler), a
//! Step Functions task (the state's input as it is), or one of the triggers imgflow does not
//! take (API Gateway REST or payload 1.0, ALB, WebSocket, SQS, SNS, S3, DynamoDB, Kinesis,
//! Firehose, Kafka/MQ, CloudWatch Logs, Cognito, CloudFormation, S3 Object Lambda, API
//! Gateway authorizers), which is refused by name with [`TriggerError::Unsupported`]: an
//! error of the invocation, so a queue or stream retries the batch and then dead-letters
//! it, instead of deleting messages that nothing read.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use http::HeaderValue;
use imgflow_shared::error_name::ErrorName;
use serde_json::Value;

use crate::errors::FunctionError;

pub enum Envelope {
    Webhook(Box<LambdaFunctionUrlRequest>),
    Event(Box<EventBridgeEvent<Value>>),
    Task(Value),
}

/// Why an event is not one a function takes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    /// A trigger imgflow is not wired to (`field` is what gives it away).
    #[error(
        "{field}: the event is {trigger}, which no imgflow function takes; use a Step Functions task, an EventBridge event (rule or Scheduler) or a webhook (Function URL or HTTP API payload 2.0)"
    )]
    Unsupported {
        trigger: &'static str,
        field: &'static str,
    },
    /// A supported trigger whose event does not have that trigger's shape.
    #[error("{field}: {trigger} that does not parse: {reason}")]
    Malformed {
        trigger: &'static str,
        field: &'static str,
        reason: String,
    },
}

impl From<TriggerError> for FunctionError {
    fn from(error: TriggerError) -> Self {
        let name = match error {
            TriggerError::Unsupported { .. } => ErrorName::TriggerUnsupported,
            TriggerError::Malformed { .. } => ErrorName::RequestInvalid,
        };
        FunctionError::new(name, error.to_string())
    }
}

/// A trigger imgflow does not take, recognised from the fields only it sends.
fn foreign(event: &serde_json::Map<String, Value>) -> Option<TriggerError> {
    let unsupported = |trigger, field| Some(TriggerError::Unsupported { trigger, field });
    let context = event.get("requestContext");
    let in_context = |key: &str| context.and_then(|c| c.get(key)).is_some();
    if let Some(records) = event.get("Records") {
        let first = records.as_array().and_then(|r| r.first());
        let source = first
            .and_then(|r| r.get("eventSource").or_else(|| r.get("EventSource")))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let trigger = match source {
            "aws:sqs" => "an SQS message batch",
            "aws:sns" => "an SNS notification",
            "aws:s3" => "an S3 event notification",
            "aws:dynamodb" => "a DynamoDB stream batch",
            "aws:kinesis" => "a Kinesis stream batch",
            "aws:ses" => "an SES receipt",
            "aws:codecommit" => "a CodeCommit trigger",
            _ => "a batch of records (Records)",
        };
        let field = if source.is_empty() {
            "Records"
        } else {
            "Records[0].eventSource"
        };
        return unsupported(trigger, field);
    }
    if in_context("elb") {
        return unsupported(
            "an ALB (Application Load Balancer) request",
            "requestContext.elb",
        );
    }
    if in_context("connectionId") || in_context("eventType") {
        return unsupported(
            "an API Gateway WebSocket message",
            "requestContext.connectionId",
        );
    }
    if event.contains_key("httpMethod") {
        return unsupported(
            "an API Gateway REST API (or HTTP API payload 1.0) request",
            "httpMethod",
        );
    }
    if context.is_some() {
        if !in_context("http") {
            return unsupported(
                "a request of an unknown shape (requestContext without http)",
                "requestContext",
            );
        }
        if event.get("version").and_then(Value::as_str) != Some("2.0") {
            return unsupported(
                "an HTTP request whose payload is not version 2.0",
                "version",
            );
        }
    }
    if event.contains_key("awslogs") {
        return unsupported("a CloudWatch Logs subscription", "awslogs");
    }
    if event.contains_key("deliveryStreamArn") {
        return unsupported("a Firehose transformation batch", "deliveryStreamArn");
    }
    if event.get("eventSource").is_some_and(Value::is_string) {
        return unsupported(
            "a Kafka or MQ batch (an event source mapping)",
            "eventSource",
        );
    }
    if event.contains_key("triggerSource") && event.contains_key("userPoolId") {
        return unsupported("a Cognito user pool trigger", "triggerSource");
    }
    if event.contains_key("RequestType") && event.contains_key("ResponseURL") {
        return unsupported("a CloudFormation custom resource request", "RequestType");
    }
    if event.contains_key("getObjectContext") {
        return unsupported("an S3 Object Lambda request", "getObjectContext");
    }
    if event.contains_key("userRequest") {
        return unsupported("an S3 Object Lambda request", "userRequest");
    }
    if event.contains_key("methodArn") {
        return unsupported("an API Gateway authorizer request", "methodArn");
    }
    None
}

impl Envelope {
    pub fn detect(event: Value) -> Result<Envelope, FunctionError> {
        let Some(object) = event.as_object() else {
            return Ok(Envelope::Task(event));
        };
        if let Some(refusal) = foreign(object) {
            return Err(refusal.into());
        }
        let is_http = object
            .get("requestContext")
            .and_then(|c| c.get("http"))
            .is_some();
        let is_event = object.contains_key("detail-type") && object.contains_key("source");
        let malformed = |trigger, field, err: serde_json::Error| {
            FunctionError::from(TriggerError::Malformed {
                trigger,
                field,
                reason: imgflow_shared::job::strip_position(&err),
            })
        };
        if is_http {
            serde_json::from_value(event)
                .map(|request| Envelope::Webhook(Box::new(request)))
                .map_err(|err| malformed("a webhook (HTTP payload 2.0)", "$", err))
        } else if is_event {
            serde_json::from_value(event)
                .map(|event| Envelope::Event(Box::new(event)))
                .map_err(|err| malformed("an EventBridge event", "$", err))
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
    fn other_triggers_are_refused_by_name_and_field() {
        let cases = [
            (
                json!({"Records": [{"eventSource": "aws:sqs"}]}),
                "Records[0].eventSource",
                "SQS",
            ),
            (json!({"Records": []}), "Records", "Records"),
            (
                json!({"requestContext": {"elb": {}}, "httpMethod": "GET"}),
                "requestContext.elb",
                "ALB",
            ),
            (
                json!({"httpMethod": "POST", "version": "1.0", "requestContext": {}}),
                "httpMethod",
                "REST",
            ),
            (
                json!({"version": "1.0", "requestContext": {"http": {}}}),
                "version",
                "not version 2.0",
            ),
            (
                json!({"version": "2.0", "requestContext": {"stage": "x"}}),
                "requestContext",
                "unknown shape",
            ),
            (
                json!({"awslogs": {"data": ""}}),
                "awslogs",
                "CloudWatch Logs",
            ),
        ];
        for (event, field, words) in cases {
            let err = match Envelope::detect(event.clone()) {
                Err(err) => err,
                Ok(_) => panic!("{event} was accepted"),
            };
            assert_eq!(err.name, "Trigger.Unsupported", "{event}");
            assert!(
                err.message.starts_with(&format!("{field}: the event is ")),
                "{err}"
            );
            assert!(err.message.contains(words), "{err}");
        }
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
