//! Which IMS API a request calls: Huawei chooses by method and path, as the gateway does.

/// One of the emulated IMS APIs, with its path parameters (raw, as sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// `POST /v1/cloudimages/{image_id}/file`
    ExportImage { image_id: &'a str },
    /// `POST /v1/cloudimages/{image_id}/cross_region_copy`
    CopyImageCrossRegion { image_id: &'a str },
    /// `GET /v1/cloudimages/job/{job_id}`
    ShowJobProgress { job_id: &'a str },
    /// `GET /v1/{project_id}/jobs/{job_id}`
    ShowJob {
        project_id: &'a str,
        job_id: &'a str,
    },
    /// `GET /v2/cloudimages`
    ListImages,
}

impl<'a> Route<'a> {
    pub fn parse(method: &str, path: &'a str) -> Option<Self> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let route = match (method, segments.as_slice()) {
            ("POST", ["v1", "cloudimages", image_id, "file"]) => Route::ExportImage { image_id },
            ("POST", ["v1", "cloudimages", image_id, "cross_region_copy"]) => {
                Route::CopyImageCrossRegion { image_id }
            }
            ("GET", ["v1", "cloudimages", "job", job_id]) => Route::ShowJobProgress { job_id },
            ("GET", ["v1", project_id, "jobs", job_id]) => Route::ShowJob { project_id, job_id },
            ("GET", ["v2", "cloudimages"]) => Route::ListImages,
            _ => return None,
        };
        let parameters_present = match route {
            Route::ExportImage { image_id } | Route::CopyImageCrossRegion { image_id } => {
                !image_id.is_empty()
            }
            Route::ShowJobProgress { job_id } => !job_id.is_empty(),
            Route::ShowJob { project_id, job_id } => !project_id.is_empty() && !job_id.is_empty(),
            Route::ListImages => true,
        };
        parameters_present.then_some(route)
    }

    /// The name stats and fault rules use: the SDK's operation name.
    pub fn action(self) -> &'static str {
        match self {
            Route::ExportImage { .. } => "ExportImage",
            Route::CopyImageCrossRegion { .. } => "CopyImageCrossRegion",
            Route::ShowJobProgress { .. } => "ShowJobProgress",
            Route::ShowJob { .. } => "ShowJob",
            Route::ListImages => "ListImages",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_operations() {
        let cases = [
            ("POST", "/v1/cloudimages/abc/file", Some("ExportImage")),
            (
                "POST",
                "/v1/cloudimages/abc/cross_region_copy",
                Some("CopyImageCrossRegion"),
            ),
            ("GET", "/v1/cloudimages/job/j1", Some("ShowJobProgress")),
            ("GET", "/v1/p1/jobs/j1", Some("ShowJob")),
            ("GET", "/v2/cloudimages", Some("ListImages")),
            ("GET", "/v2/cloudimages/", Some("ListImages")),
            ("GET", "/v1/cloudimages/abc/file", None),
            ("POST", "/v2/cloudimages", None),
            ("DELETE", "/v1/p1/jobs/j1", None),
            ("GET", "/v3/cloudimages", None),
        ];
        for (method, path, action) in cases {
            assert_eq!(
                Route::parse(method, path).map(Route::action),
                action,
                "{method} {path}"
            );
        }
        assert_eq!(
            Route::parse("GET", "/v1/p1/jobs/j1"),
            Some(Route::ShowJob {
                project_id: "p1",
                job_id: "j1"
            })
        );
    }
}
