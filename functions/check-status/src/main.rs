//! The check-status Lambda function: see functions/README.md for its events and answers.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    imgflow_functions::run(imgflow_functions::Function::CheckStatus).await
}
