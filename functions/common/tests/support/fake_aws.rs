//! A Step Functions endpoint that records every call and starts nothing: DescribeExecution
//! answers `ExecutionDoesNotExist`, StartExecution answers the execution's ARN, ListExecutions
//! an empty list. Tests read the recorded calls (what would have been started, under which
//! name), where the counting listener only tells that something connected.

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
pub struct Calls(Arc<Mutex<Vec<Call>>>);

impl Calls {
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
