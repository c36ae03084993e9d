//! The control API under `/_emulator/`: unauthenticated, for tests and demos on loopback.
//!
//! | request | effect |
//! | --- | --- |
//! | `GET /_emulator/health` | `{"ok": true}` |
//! | `GET /_emulator/stats` | requests, highest rate per second and throttled count per action; tasks created; the most exports run at once per cloud and account; faults injected per kind |
//! | `POST /_emulator/stats/reset` | zeroes the stats |
//! | `GET /_emulator/faults` | the fault rules with uses left |
//! | `POST /_emulator/faults` | adds a rule `{"cloud"?, "action"?, "kind", "times"?, "delay_ms"?}` (or a list) |
//! | `DELETE /_emulator/faults` | removes every rule |
//! | `GET /_emulator/faults/random` | the random faults in force (`null` when none) |
//! | `POST /_emulator/faults/random` | `{"rate", "seed"?, "kinds"?, "cloud"?, "delay_ms"?}`: a fault at `rate` on every cloud action |
//! | `DELETE /_emulator/faults/random` | stops random faults |
//! | `GET /_emulator/outages` | the outage windows (cloud time) with the calls each failed, and the cloud time |
//! | `POST /_emulator/outages` | `{"cloud", "seconds", "start_in_seconds"?, "kind"?}`: every call to `cloud` fails for `seconds` of cloud time |
//! | `DELETE /_emulator/outages` | removes every outage |
//! | `GET /_emulator/clock` | `{"cloud_now", "wall_now", "time_scale"}` |
//! | `POST /_emulator/clock` | `{"advance_seconds"?: n, "time_scale"?: x}` |
//! | `GET /_emulator/tasks` | every task with its phase and percent |
//! | `GET /_emulator/objects?bucket=NAME` | the objects in a bucket with their sizes |
//! | `POST /_emulator/credentials` | adds a key `{"ak", "sk", "account"?}` |
//! | `POST /_emulator/images` | adds images while it runs: `{"image": ImageSpec, "age_seconds"?}` (or a list); each is created `age_seconds` (default 0) before the cloud's present |

use serde::Deserialize;
use serde_json::json;

use crate::faults::{Fault, OutageSpec, RandomFaults};
use crate::http::{ApiRequest, ApiResponse};
use crate::server::Shared;
use crate::world::{Phase, TaskKind};

pub fn handle(shared: &Shared, request: &ApiRequest) -> ApiResponse {
    let route = request
        .path
        .trim_start_matches("/_emulator/")
        .trim_end_matches('/');
    match (request.method.as_str(), route) {
        ("GET", "health") => ApiResponse::json(200, &json!({"ok": true})),
        ("GET", "stats") => stats(shared),
        ("POST", "stats/reset") => {
            shared.world().stats.reset();
            shared.faults().reset_counts();
            ApiResponse::json(200, &json!({"ok": true}))
        }
        ("GET", "faults") => ApiResponse::json(200, &shared.faults().pending()),
        ("POST", "faults") => add_faults(shared, request),
        ("DELETE", "faults") => {
            shared.faults().clear();
            ApiResponse::json(200, &json!({"ok": true}))
        }
        ("GET", "faults/random") => ApiResponse::json(200, &shared.faults().random()),
        ("POST", "faults/random") => set_random(shared, request),
        ("DELETE", "faults/random") => {
            shared.faults().set_random(None);
            ApiResponse::json(200, &json!({"ok": true}))
        }
        ("GET", "outages") => outages(shared),
        ("POST", "outages") => add_outage(shared, request),
        ("DELETE", "outages") => {
            shared.faults().clear_outages();
            ApiResponse::json(200, &json!({"ok": true}))
        }
        ("GET", "clock") => clock(shared),
        ("POST", "clock") => set_clock(shared, request),
        ("GET", "tasks") => tasks(shared),
        ("GET", "objects") => objects(shared, request),
        ("POST", "credentials") => add_credentials(shared, request),
        ("POST", "images") => add_images(shared, request),
        _ => bad_request(&format!(
            "no control endpoint {} /_emulator/{route}",
            request.method
        )),
    }
}

fn bad_request(message: &str) -> ApiResponse {
    ApiResponse::json(400, &json!({"error": message}))
}

fn add_faults(shared: &Shared, request: &ApiRequest) -> ApiResponse {
    let parsed = serde_json::from_slice::<serde_json::Value>(&request.body).and_then(|value| {
        if value.is_array() {
            serde_json::from_value::<Vec<Fault>>(value)
        } else {
            serde_json::from_value::<Fault>(value).map(|fault| vec![fault])
        }
    });
    match parsed {
        Ok(faults) => faults
            .into_iter()
            .for_each(|fault| shared.faults().add(fault)),
        Err(err) => return bad_request(&format!("fault: {err}")),
    }
    ApiResponse::json(200, &shared.faults().pending())
}

fn stats(shared: &Shared) -> ApiResponse {
    let snapshot = shared.world().stats.snapshot();
    let counts = shared.faults().counts();
    ApiResponse::json(
        200,
        &json!({
            "actions": snapshot.actions,
            "tasks_created": snapshot.tasks_created,
            "most_running_exports": snapshot.most_running_exports,
            "faults_injected": counts.faults_injected,
            "outage_calls_failed": counts.outage_calls_failed,
        }),
    )
}

fn set_random(shared: &Shared, request: &ApiRequest) -> ApiResponse {
    let random = match serde_json::from_slice::<RandomFaults>(&request.body) {
        Ok(random) => random,
        Err(err) => return bad_request(&format!("random faults: {err}")),
    };
    if let Err(err) = random.validate() {
        return bad_request(&err.to_string());
    }
    shared.faults().set_random(Some(random));
    ApiResponse::json(200, &shared.faults().random())
}

fn outages(shared: &Shared) -> ApiResponse {
    let now = shared.world().clock.cloud_now();
    let faults = shared.faults();
    let outages: Vec<_> = faults
        .outages()
        .iter()
        .map(|o| {
            json!({"cloud": o.cloud, "kind": o.kind, "starts": o.starts, "ends": o.ends,
                        "active": o.is_active(now), "calls_failed": o.calls_failed})
        })
        .collect();
    ApiResponse::json(200, &json!({"cloud_now": now, "outages": outages}))
}

fn add_outage(shared: &Shared, request: &ApiRequest) -> ApiResponse {
    let spec = match serde_json::from_slice::<OutageSpec>(&request.body) {
        Ok(spec) => spec,
        Err(err) => return bad_request(&format!("outage: {err}")),
    };
    if let Err(err) = spec.validate() {
        return bad_request(&err.to_string());
    }
    let now = shared.world().clock.cloud_now();
    let outage = shared.faults().add_outage(&spec, now);
    ApiResponse::json(200, &outage)
}

fn clock(shared: &Shared) -> ApiResponse {
    let world = shared.world();
    ApiResponse::json(
        200,
        &json!({
            "cloud_now": world.clock.cloud_now(),
            "wall_now": world.clock.wall_unix(),
            "time_scale": world.clock.time_scale(),
        }),
    )
}

fn set_clock(shared: &Shared, request: &ApiRequest) -> ApiResponse {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ClockChange {
        #[serde(default)]
        advance_seconds: Option<f64>,
        #[serde(default)]
        time_scale: Option<f64>,
    }
    let change: ClockChange = match serde_json::from_slice(&request.body) {
        Ok(change) => change,
        Err(err) => return bad_request(&format!("clock: {err}")),
    };
    {
        let mut world = shared.world();
        if let Some(scale) = change.time_scale {
            if !(scale > 0.0 && scale.is_finite()) {
                return bad_request("clock: time_scale must be a positive number");
            }
            world.clock.set_time_scale(scale);
        }
        if let Some(seconds) = change.advance_seconds {
            world.clock.advance(seconds);
        }
        world.release_queued();
    }
    clock(shared)
}

fn tasks(shared: &Shared) -> ApiResponse {
    let world = shared.world();
    let tasks: Vec<_> = world
        .tasks
        .iter()
        .map(|task| {
            let phase = world.phase(task);
            let (kind, detail) = match &task.kind {
                TaskKind::Export {
                    image_id,
                    bucket,
                    objects,
                    ..
                } => (
                    "export",
                    json!({"image_id": image_id, "bucket": bucket,
                           "objects": objects.iter().map(|o| &o.key).collect::<Vec<_>>()}),
                ),
                TaskKind::Copy {
                    image_id,
                    destination_region,
                    destination_image_id,
                } => (
                    "copy",
                    json!({"image_id": image_id, "destination_region": destination_region,
                           "destination_image_id": destination_image_id}),
                ),
            };
            let phase_name = match &phase {
                Phase::Pending => "pending",
                Phase::Running { .. } => "running",
                Phase::Succeeded => "succeeded",
                Phase::Failed(_) => "failed",
                Phase::Cancelled => "cancelled",
            };
            json!({"id": task.id, "cloud": task.cloud, "account": task.account,
                   "region": task.region, "kind": kind, "detail": detail,
                   "phase": phase_name, "percent": phase.percent()})
        })
        .collect();
    ApiResponse::json(200, &tasks)
}

fn objects(shared: &Shared, request: &ApiRequest) -> ApiResponse {
    let Some(bucket) = request.query_param("bucket") else {
        return bad_request("objects: the query parameter `bucket` is required");
    };
    ApiResponse::json(200, &shared.world().objects(&bucket))
}

fn add_credentials(shared: &Shared, request: &ApiRequest) -> ApiResponse {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NewKey {
        ak: String,
        sk: String,
        #[serde(default)]
        account: Option<String>,
    }
    match serde_json::from_slice::<NewKey>(&request.body) {
        Ok(key) => {
            let account = key.account.unwrap_or_else(|| "default".to_owned());
            shared.world().add_key(&key.ak, &key.sk, &account);
            ApiResponse::json(200, &json!({"ok": true}))
        }
        Err(err) => bad_request(&format!("credentials: {err}")),
    }
}

/// One image to add: its catalogue entry and how long ago it was created.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewImage {
    image: crate::catalog::ImageSpec,
    #[serde(default)]
    age_seconds: f64,
}

fn add_images(shared: &Shared, request: &ApiRequest) -> ApiResponse {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(NewImage),
        Many(Vec<NewImage>),
    }
    let images = match serde_json::from_slice::<OneOrMany>(&request.body) {
        Ok(OneOrMany::One(image)) => vec![image],
        Ok(OneOrMany::Many(images)) => images,
        Err(err) => return bad_request(&format!("images: {err}")),
    };
    if let Some(bad) = images
        .iter()
        .find(|new| !new.age_seconds.is_finite() || new.age_seconds < 0.0)
    {
        return bad_request(&format!(
            "images: age_seconds of {} must be a number of seconds, at least 0",
            bad.image.id
        ));
    }
    let mut world = shared.world();
    if let Some(taken) = images.iter().find(|new| {
        world
            .images
            .iter()
            .any(|image| image.spec.id == new.image.id)
    }) {
        return bad_request(&format!("images: {} already exists", taken.image.id));
    }
    let now = world.now();
    let added = images.len();
    for new in images {
        world.images.push(crate::world::Image {
            spec: new.image,
            created: now - new.age_seconds,
            made_by: None,
        });
    }
    ApiResponse::json(200, &json!({"ok": true, "added": added}))
}
