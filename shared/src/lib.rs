//! The code the imgflow functions share: request signing for the four clouds (one module
//! per cloud, each holding its own rules) on top of the pieces they have in common.

pub mod alibaba;
mod answer;
mod batch;
pub mod client;
pub mod clock;
pub mod cloud;
pub mod config;
pub mod deadline;
pub mod endpoints;
pub mod error;
pub mod error_name;
pub mod huawei;
pub mod idempotence;
pub mod job;
pub mod limits;
pub mod model;
pub mod names;
pub mod operation;
pub mod operations;
pub mod protocol;
pub mod provider;
pub mod providers;
pub mod regions;
pub mod registry;
pub mod retry;
pub mod select;
pub mod sign_check;
pub mod signing;
pub mod skip;
pub mod storage;
pub mod tencent;
pub mod transport;
pub mod validate;
pub mod volcengine;
pub mod wait;
pub use cloud::Cloud;
