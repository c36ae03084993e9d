//! A Step Functions endpoint that records every call and starts nothing: DescribeExecution
//! answers `ExecutionDoesNotExist`, StartExecution answers the execution's ARN, ListExecutions
//! an empty list. Tests read the recorded calls (what would have been started, under which
//! name), where the counting listener only tells that something connected.
//!
//! It is also a path-style S3 of GetObject and PutObject (with `If-None-Match: *`, 412 when
//! the key exists), recorded as `GetObject`/`PutObject` calls with the key as `body.key`;
//! tests read and plant objects with [`Calls::object`] and [`Calls::put`].

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One recorded call: its `X-Amz-Target` action and its JSON body.
#[derive(Clone, Debug)]
pub struct Call {
    pub action: String,
    pub body: Value,
}

#[derive(Clone, Default)]
pub struct Calls(
    Arc<Mutex<Vec<Call>>>,
    Arc<Mutex<std::collections::BTreeMap<String, Vec<u8>>>>,
);

impl Calls {
    /// The S3 object at `/bucket/key`.
    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.1
            .lock()
            .expect("objects")
            .get(&format!("/{bucket}/{key}"))
            .cloned()
    }

    /// Plants an S3 object.
    pub fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        self.1
            .lock()
            .expect("objects")
            .insert(format!("/{bucket}/{key}"), body.to_vec());
    }

    /// The recorded calls of `action` (`GetObject`, `PutObject`, `StartExecution`).
    pub fn count(&self, action: &str) -> usize {
        self.all().iter().filter(|c| c.action == action).count()
    }

    pub fn all(&self) -> Vec<Call> {
        self.0.lock().expect("calls").clone()
    }

    /// The names of the executions StartExecution was asked for.
    pub fn started_names(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|c| c.action == "StartExecution")
            .map(|c| c.body["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// Starts the endpoint; returns its base URL and the calls it records.
pub async fn start() -> (String, Calls) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let calls = Calls::default();
    let recorded = calls.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let recorded = recorded.clone();
            tokio::spawn(async move { serve(socket, recorded).await });
        }
    });
    (url, calls)
}

async fn serve(mut socket: tokio::net::TcpStream, calls: Calls) {
    loop {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match socket.read(&mut byte).await {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let header = |name: &str| {
            head.lines().find_map(|l| {
                l.strip_prefix(&format!("{name}:"))
                    .map(|v| v.trim().to_owned())
            })
        };
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let action = header("x-amz-target")
            .and_then(|t| t.rsplit('.').next().map(str::to_owned))
            .unwrap_or_default();
        let mut body = vec![0u8; length];
        if socket.read_exact(&mut body).await.is_err() {
            return;
        }
        if action.is_empty() {
            let mut words = head.split_whitespace();
            let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            let path = path.split('?').next().unwrap_or("").to_owned();
            let (status, answer, action) = match method {
                "get" => match calls.1.lock().expect("objects").get(&path) {
                    Some(object) => (200, object.clone(), "GetObject"),
                    None => (
                        404,
                        b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>".to_vec(),
                        "GetObject",
                    ),
                },
                "put" => {
                    let mut objects = calls.1.lock().expect("objects");
                    if header("if-none-match").as_deref() == Some("*") && objects.contains_key(&path) {
                        (412, b"<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>".to_vec(), "PutObject")
                    } else {
                        objects.insert(path.clone(), body.clone());
                        (200, Vec::new(), "PutObject")
                    }
                }
                _ => (405, Vec::new(), "S3"),
            };
            calls.0.lock().expect("calls").push(Call {
                action: action.to_owned(),
                body: json!({"key": path}),
            });
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/xml\r\ncontent-length: {}\r\n\r\n",
                answer.len()
            );
            if socket.write_all(head.as_bytes()).await.is_err()
                || socket.write_all(&answer).await.is_err()
            {
                return;
            }
            continue;
        }
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let (status, answer) = match action.as_str() {
            "startexecution" => (
                200,
                json!({"executionArn": format!("{}:{}",
                    body["stateMachineArn"].as_str().unwrap_or_default().replacen(":stateMachine:", ":execution:", 1),
                    body["name"].as_str().unwrap_or_default()), "startDate": 0}),
            ),
            "listexecutions" => (200, json!({"executions": []})),
            "describeexecution" => (
                400,
                json!({"__type": "ExecutionDoesNotExist", "message": "Execution Does Not Exist"}),
            ),
            _ => (
                400,
                json!({"__type": "UnknownOperationException", "message": "not faked"}),
            ),
        };
        let action = match action.as_str() {
            "startexecution" => "StartExecution",
            "listexecutions" => "ListExecutions",
            "describeexecution" => "DescribeExecution",
            "getexecutionhistory" => "GetExecutionHistory",
            other => other,
        }
        .to_owned();
        calls.0.lock().expect("calls").push(Call { action, body });
        let text = answer.to_string();
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{text}",
            text.len()
        );
        if socket.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}
