//! What a selection costs: the list calls each cloud's listing takes for a 300-image
//! catalogue on the emulator (issue 14). Every cloud's region gets 300 ready custom images,
//! `sel-a` and `sel-b` alternating, the even ones tagged `backup=nightly`, image `i` created
//! `i` hours ago; then three selectors are resolved on each cloud and the calls counted.
//!
//! ```sh
//! cargo run -q -p imgflow-shared --example list_calls
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use cloud_emulator::EmulatorConfig;
use cloud_emulator::catalog::{ImageFlags, ImageSpec, ImageState};
use cloud_emulator::world::Image;
use imgflow_shared::Cloud;
use imgflow_shared::client::CloudClient;
use imgflow_shared::config::CloudCredentials;
use imgflow_shared::endpoints::Endpoints;
use imgflow_shared::retry::RetryPolicy;
use imgflow_shared::select::Selector;
use imgflow_shared::signing::Credentials;
use imgflow_shared::transport::Transport;

const IMAGES: u32 = 300;

/// Each cloud's region and a valid image id for image `i`.
fn fleet(cloud: Cloud) -> (&'static str, fn(u32) -> String) {
    match cloud {
        Cloud::Tencent => ("ap-guangzhou", |i| format!("img-sel{i:05}")),
        Cloud::Alibaba => ("cn-hangzhou", |i| format!("m-bp1sel0000000{i:05}")),
        Cloud::Volcengine => ("cn-beijing", |i| format!("image-ycsel0000000{i:05}")),
        Cloud::Huawei => ("cn-north-4", |i| {
            format!("4d0ab5e2-3114-578f-81d7-5e1ec70{i:05}")
        }),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let selectors: [(&str, serde_json::Value); 3] = [
        (
            "glob sel-*, newest 1",
            serde_json::json!({"name": "sel-*", "newest_per_name": 1}),
        ),
        (
            "exact sel-a, newest 1",
            serde_json::json!({"name": "sel-a", "newest_per_name": 1}),
        ),
        (
            "tag backup=nightly, newest 1",
            serde_json::json!({"tags": {"backup": "nightly"}, "newest_per_name": 1}),
        ),
    ];
    println!("list calls for a selection over {IMAGES} custom images per region (pages of 100)\n");
    println!(
        "{:<30} {:>8} {:>8} {:>11} {:>7}",
        "selector", "tencent", "alibaba", "volcengine", "huawei"
    );
    let mut rows: Vec<(String, Vec<usize>)> = selectors
        .iter()
        .map(|(label, _)| ((*label).to_owned(), Vec::new()))
        .collect();
    for cloud in [
        Cloud::Tencent,
        Cloud::Alibaba,
        Cloud::Volcengine,
        Cloud::Huawei,
    ] {
        // A fresh, frozen emulator per cloud: only that cloud's catalogue grows.
        let emulator = cloud_emulator::start(EmulatorConfig {
            time_scale: 0.0,
            ..EmulatorConfig::default()
        })
        .await?;
        let (region, id) = fleet(cloud);
        let now = {
            let mut world = emulator.world();
            let now = world.now();
            for i in 0..IMAGES {
                let tags: BTreeMap<String, String> = if i % 2 == 0 {
                    [("backup".to_owned(), "nightly".to_owned())].into()
                } else {
                    BTreeMap::new()
                };
                world.images.push(Image {
                    spec: ImageSpec {
                        cloud,
                        account: "default".into(),
                        region: region.into(),
                        id: id(i),
                        name: if i % 2 == 0 { "sel-a" } else { "sel-b" }.into(),
                        size_gb: 1,
                        data_disks_gb: Vec::new(),
                        os_type: "linux".into(),
                        state: ImageState::Available,
                        flags: ImageFlags::default(),
                        tags,
                    },
                    created: now - f64::from(i) * 3600.0,
                    made_by: None,
                });
            }
            now as u64
        };
        let client = client(&emulator.base_url)?;
        for (row, (_, json)) in rows.iter_mut().zip(&selectors) {
            let selector: Selector = serde_json::from_value(json.clone())?;
            let (_, calls) = client
                .select_images(cloud, region, &selector, now)
                .await
                .map_err(|e| format!("{cloud}: {e}"))?;
            row.1.push(calls);
        }
    }
    for (label, calls) in rows {
        println!(
            "{label:<30} {:>8} {:>8} {:>11} {:>7}",
            calls[0], calls[1], calls[2], calls[3]
        );
    }
    Ok(())
}

fn client(base_url: &str) -> Result<CloudClient, Box<dyn std::error::Error>> {
    let key = || Credentials::new("imgflow-emulator-ak", "imgflow-emulator-sk");
    let credentials = CloudCredentials::default()
        .with(Cloud::Tencent, key())
        .with(Cloud::Alibaba, key())
        .with(Cloud::Volcengine, key())
        .with(Cloud::Huawei, key())
        .with_project(
            Cloud::Huawei,
            "cn-north-4",
            "0a1b2c3d4e5f40718293a4b5c6d7e8f9",
        );
    Ok(CloudClient::new(
        Transport::new(Duration::from_secs(2), Duration::from_secs(5))?,
        Endpoints::single(base_url)?,
        credentials,
        RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(20),
            cap: Duration::from_millis(400),
        },
    ))
}
