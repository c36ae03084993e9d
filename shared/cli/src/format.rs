//! Human-readable text: durations, sizes, task descriptions and plain-text tables.

use imgflow_shared::error::CloudError;
use imgflow_shared::model::{
    ExportedObject, RegionImage, TaskKind, TaskRef, TaskResult, TaskState, TaskStatus,
};

/// `6h 00m`, `30m 05s`, `42s`.
pub fn duration(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    if h >= 24 {
        format!("{}d {:02}h", h / 24, h % 24)
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// `3.2 s` of real time.
pub fn real_seconds(seconds: f64) -> String {
    format!("{seconds:.1} s")
}

/// `17.5 GiB`, `512.0 MiB`, `12 B`.
pub fn bytes(size: u64) -> String {
    const KIB: f64 = 1024.0;
    let size_f = size as f64;
    if size_f >= KIB * KIB * KIB {
        format!("{:.1} GiB", size_f / (KIB * KIB * KIB))
    } else if size_f >= KIB * KIB {
        format!("{:.1} MiB", size_f / (KIB * KIB))
    } else if size_f >= KIB {
        format!("{:.1} KiB", size_f / KIB)
    } else {
        format!("{size} B")
    }
}

pub fn state(state: TaskState) -> &'static str {
    match state {
        TaskState::Pending => "pending",
        TaskState::Running => "running",
        TaskState::Succeeded => "succeeded",
        TaskState::Failed => "failed",
    }
}

/// `export img-web00001` or `sync img-web00001 -> ap-shanghai`.
pub fn task_label(task: &TaskRef) -> String {
    match (task.kind, &task.destination_region) {
        (TaskKind::Copy, Some(destination)) => {
            format!("sync {} -> {destination}", task.image_id)
        }
        (TaskKind::Copy, None) => format!("sync {}", task.image_id),
        (TaskKind::Export, _) => format!("export {}", task.image_id),
    }
}

/// The cloud's task id, or `-` where it gives none.
pub fn task_id(task: &TaskRef) -> String {
    task.task_id.clone().unwrap_or_else(|| "-".to_owned())
}

pub fn object_line(object: &ExportedObject) -> String {
    format!("{}/{} ({})", object.bucket, object.key, bytes(object.size))
}

pub fn image_line(image: &RegionImage) -> String {
    format!("{}: {}", image.region, image.image_id)
}

/// The lines describing what a finished task produced, or why it failed.
pub fn result_lines(status: &TaskStatus) -> Vec<String> {
    match (&status.result, &status.reason) {
        (Some(TaskResult::Export { objects }), _) => objects.iter().map(object_line).collect(),
        (Some(TaskResult::Copy { images }), _) => images.iter().map(image_line).collect(),
        (None, Some(reason)) => vec![match &reason.code {
            Some(code) => format!("{code}: {}", reason.message),
            None => reason.message.clone(),
        }],
        (None, None) => {
            let mut lines = Vec::new();
            if let Some(image) = &status.task.destination_image_id {
                lines.push(format!(
                    "{}: {image} (not yet usable)",
                    status.task.destination_region.as_deref().unwrap_or("?")
                ));
            }
            for object in &status.task.objects {
                lines.push(format!(
                    "{}/{} (not yet written)",
                    object.bucket, object.key
                ));
            }
            lines
        }
    }
}

/// A cloud error, every field a person needs to act on it (never a secret: errors carry
/// none).
pub fn cloud_error(error: &CloudError) -> String {
    let mut text = format!(
        "{} {}: code {}: {}",
        error.cloud, error.kind, error.code, error.message
    );
    match &error.request_id {
        Some(id) => text.push_str(&format!(" (request id {id})")),
        None => text.push_str(" (no request id)"),
    }
    text
}

/// A plain-text table: a header, a rule, and rows whose cells may hold several lines.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<Vec<String>>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// A row of cells; a cell of several lines makes the row that many lines high.
    pub fn row(&mut self, cells: Vec<Vec<String>>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (column, cell) in row.iter().enumerate().take(columns) {
                for line in cell {
                    widths[column] = widths[column].max(line.chars().count());
                }
            }
        }
        let mut out = String::new();
        let line = |cells: Vec<&str>, out: &mut String| {
            let mut text = String::new();
            for (column, cell) in cells.iter().enumerate() {
                if column + 1 == columns {
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    let pad = widths[column] - cell.chars().count();
                    text.push_str(&" ".repeat(pad + 2));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(self.header.iter().map(String::as_str).collect(), &mut out);
        // The last column's rule stops at 40 characters: long results may wrap.
        let rule: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(column, w)| {
                let header = self.header[column].chars().count();
                let width = if column + 1 == columns {
                    (*w).min(40).max(header)
                } else {
                    *w
                };
                "-".repeat(width)
            })
            .collect();
        line(rule.iter().map(String::as_str).collect(), &mut out);
        for row in &self.rows {
            let height = row.iter().map(Vec::len).max().unwrap_or(0).max(1);
            for index in 0..height {
                let cells: Vec<&str> = (0..columns)
                    .map(|column| {
                        row.get(column)
                            .and_then(|cell| cell.get(index))
                            .map_or("", String::as_str)
                    })
                    .collect();
                line(cells, &mut out);
            }
        }
        out
    }
}

/// One cell of one line.
pub fn cell(text: impl Into<String>) -> Vec<String> {
    vec![text.into()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_naturally() {
        assert_eq!(duration(21_600.0), "6h 00m");
        assert_eq!(duration(1_805.0), "30m 05s");
        assert_eq!(duration(42.4), "42s");
        assert_eq!(duration(90_000.0), "1d 01h");
        assert_eq!(bytes(18_790_481_920), "17.5 GiB");
        assert_eq!(bytes(12), "12 B");
    }

    #[test]
    fn tables_align_columns_and_stack_multi_line_cells() {
        let mut table = Table::new(&["cloud", "result", "checks"]);
        table.row(vec![
            cell("tencent"),
            vec!["a (1 B)".into(), "bb (2 B)".into()],
            cell("3"),
        ]);
        let text = table.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "cloud    result    checks");
        assert_eq!(lines[2], "tencent  a (1 B)   3");
        assert_eq!(lines[3], "         bb (2 B)");
    }
}
