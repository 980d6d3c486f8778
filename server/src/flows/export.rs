//! Flow figures out of and into files: CSV with an HXL hashtag row (the
//! Humanitarian Exchange Language partners' tools read), XLSX for
//! headquarters' spreadsheets, and the CSV a post's paper tallies are
//! typed into for `mpaka flows import` (the same columns; the HXL row and
//! the report id are optional there).

use mpaka_protocol::{
    FieldCode, FieldError, FlowDraft, FlowLine, FlowReport, FlowSharing, FlowSummary,
    VulnerableGroups,
};
use std::collections::BTreeMap;

/// Column names, in order.
pub const COLUMNS: [&str; 21] = [
    "report_id",
    "post",
    "country",
    "corridor",
    "sharing",
    "period_start",
    "period_end",
    "direction",
    "nationality",
    "transport",
    "reason",
    "men",
    "women",
    "boys",
    "girls",
    "total",
    "unaccompanied_or_separated_children",
    "pregnant_or_lactating_women",
    "elderly",
    "injured_or_sick",
    "persons_with_disabilities",
];

/// The HXL hashtag of each column.
pub const HXL: [&str; 21] = [
    "#meta+id",
    "#loc+code",
    "#country+code",
    "#meta+corridor",
    "#meta+sharing",
    "#date+start",
    "#date+end",
    "#meta+direction",
    "#meta+nationality",
    "#meta+transport",
    "#meta+reason",
    "#population+m+adults",
    "#population+f+adults",
    "#population+m+children",
    "#population+f+children",
    "#population+total",
    "#population+unaccompanied",
    "#population+pregnant",
    "#population+elderly",
    "#population+sick",
    "#population+disabled",
];

fn cells(report: &FlowReport, line: &FlowLine) -> [String; 21] {
    let v = |n: Option<i64>| n.unwrap_or(0).to_string();
    let vg = &line.vulnerable;
    [
        report.id.clone(),
        report.post.clone(),
        report.country.to_string(),
        report.corridor.clone(),
        report.sharing.to_string(),
        report.period_start.clone(),
        report.period_end.clone(),
        line.direction.to_string(),
        line.nationality.to_string(),
        line.transport.map(|t| t.to_string()).unwrap_or_default(),
        line.reason.clone().unwrap_or_default(),
        line.men.to_string(),
        line.women.to_string(),
        line.boys.to_string(),
        line.girls.to_string(),
        line.total().to_string(),
        v(vg.unaccompanied_or_separated_children),
        v(vg.pregnant_or_lactating_women),
        v(vg.elderly),
        v(vg.injured_or_sick),
        v(vg.persons_with_disabilities),
    ]
}

/// One CSV row per report line, after a header row and an HXL row.
///
/// # Errors
/// Never in practice (writing to memory).
pub fn csv(reports: &[FlowReport]) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(COLUMNS)?;
    writer.write_record(HXL)?;
    for report in reports {
        for line in &report.lines {
            writer.write_record(cells(report, line))?;
        }
    }
    Ok(writer.into_inner()?)
}

/// A workbook with a `Figures` sheet (as the CSV, numbers as numbers) and,
/// when given, a `Summary` sheet of the month.
///
/// # Errors
/// Never in practice (writing to memory).
pub fn xlsx(reports: &[FlowReport], summary: Option<&FlowSummary>) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::Workbook;
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Figures")?;
    for (col, (name, tag)) in (0u16..).zip(COLUMNS.iter().zip(HXL)) {
        sheet.write_string(0, col, *name)?;
        sheet.write_string(1, col, tag)?;
    }
    let mut row = 2u32;
    for report in reports {
        for line in &report.lines {
            for (col, cell) in (0u16..).zip(cells(report, line)) {
                if col >= 11 {
                    sheet.write_number(row, col, cell.parse::<f64>().unwrap_or(0.0))?;
                } else {
                    sheet.write_string(row, col, cell)?;
                }
            }
            row += 1;
        }
    }
    if let Some(summary) = summary {
        let sheet = workbook.add_worksheet();
        sheet.set_name("Summary")?;
        let f = &summary.figures;
        let mut rows: Vec<(String, f64)> = vec![
            ("month".into(), 0.0),
            ("total".into(), f.total as f64),
            ("in".into(), f.incoming as f64),
            ("out".into(), f.outgoing as f64),
            ("men".into(), f.men as f64),
            ("women".into(), f.women as f64),
            ("boys".into(), f.boys as f64),
            ("girls".into(), f.girls as f64),
            ("daily average".into(), summary.change.daily_average),
            (
                "previous daily average".into(),
                summary.change.previous_daily_average,
            ),
        ];
        for (k, n) in &f.nationality {
            rows.push((format!("nationality {k}"), *n as f64));
        }
        for (k, n) in &f.vulnerable {
            rows.push((format!("vulnerable {k}"), *n as f64));
        }
        for r in &summary.top_reasons {
            rows.push((format!("reason {}", r.name), r.count as f64));
        }
        for (row, (name, value)) in (0u32..).zip(rows) {
            sheet.write_string(row, 0, &name)?;
            if row == 0 {
                sheet.write_string(row, 1, &summary.month)?;
            } else {
                sheet.write_number(row, 1, value)?;
            }
        }
    }
    Ok(workbook.save_to_buffer()?)
}

/// Reads tallies from CSV (the export's columns; `report_id`, `country`,
/// `corridor` and `total` are ignored; an HXL row is skipped) into one
/// draft per post, period and sharing, in file order.
///
/// # Errors
/// Every problem, naming the row (`row 3: men`).
pub fn parse_csv(text: &str) -> Result<Vec<FlowDraft>, Vec<FieldError>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let mut problems = Vec::new();
    let field = |row: usize, name: &str, message: String| {
        FieldError::new(format!("row {row}: {name}"), FieldCode::Invalid, message)
    };
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![field(1, "header", e.to_string())]),
    };
    let index: BTreeMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h, i)).collect();
    for required in [
        "post",
        "period_start",
        "period_end",
        "direction",
        "nationality",
    ] {
        if !index.contains_key(required) {
            problems.push(field(1, required, "missing column".into()));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut drafts: Vec<FlowDraft> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(field(row, "row", e.to_string()));
                continue;
            }
        };
        let get = |name: &str| {
            index
                .get(name)
                .and_then(|i| record.get(*i))
                .unwrap_or("")
                .trim()
        };
        if get("post").starts_with('#') {
            continue; // the HXL row
        }
        let text =
            |value: &str| (!value.is_empty()).then(|| serde_json::Value::String(value.to_owned()));
        let mut line = serde_json::json!({
            "direction": get("direction"), "nationality": get("nationality"),
        });
        for name in ["transport", "reason"] {
            if let Some(v) = text(get(name)) {
                line[name] = v;
            }
        }
        let mut vulnerable = serde_json::Map::new();
        for name in ["men", "women", "boys", "girls"]
            .into_iter()
            .chain(VulnerableGroups::GROUPS)
        {
            let value = get(name);
            if value.is_empty() {
                continue;
            }
            match value.parse::<u32>() {
                Ok(n) if VulnerableGroups::GROUPS.contains(&name) => {
                    if n > 0 {
                        vulnerable.insert(name.into(), n.into());
                    }
                }
                Ok(n) => line[name] = n.into(),
                Err(_) => problems.push(field(row, name, "must be a whole number".into())),
            }
        }
        if !vulnerable.is_empty() {
            line["vulnerable"] = vulnerable.into();
        }
        let line: FlowLine = match mpaka_protocol::from_value_named(line) {
            Ok(l) => l,
            Err(e) => {
                problems.push(field(row, &e.field, e.message));
                continue;
            }
        };
        let sharing = match get("sharing") {
            "" => FlowSharing::Joint,
            s => match s.parse() {
                Ok(s) => s,
                Err(e) => {
                    problems.push(field(row, "sharing", e));
                    continue;
                }
            },
        };
        let (post, start, end) = (get("post"), get("period_start"), get("period_end"));
        match drafts.iter_mut().find(|d| {
            d.post.as_deref() == Some(post)
                && d.period_start == start
                && d.period_end == end
                && d.sharing == sharing
        }) {
            Some(draft) => draft.lines.push(line),
            None => drafts.push(FlowDraft {
                post: Some(post.to_owned()),
                period_start: start.to_owned(),
                period_end: end.to_owned(),
                sharing,
                lines: vec![line],
            }),
        }
    }
    if problems.is_empty() {
        Ok(drafts)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TALLY: &str = "post,period_start,period_end,direction,nationality,men,women,boys,girls,elderly\n\
        #loc+code,#date+start,#date+end,#meta+direction,#meta+nationality,#population+m+adults,#population+f+adults,#population+m+children,#population+f+children,#population+elderly\n\
        mugina,2026-11-30T06:00:00Z,2026-11-30T14:00:00Z,in,TZ,10,12,3,4,2\n\
        mugina,2026-11-30T06:00:00Z,2026-11-30T14:00:00Z,out,BI,5,5,0,0,\n\
        mugina,2026-11-30T14:00:00Z,2026-11-30T22:00:00Z,in,BI,1,0,0,0,\n";

    #[test]
    fn paper_tallies_become_one_draft_per_shift() {
        let drafts = parse_csv(TALLY).expect("parses");
        assert_eq!(drafts.len(), 2);
        assert_eq!(drafts[0].lines.len(), 2);
        assert_eq!(drafts[0].lines[0].total(), 29);
        assert_eq!(drafts[0].lines[0].vulnerable.elderly, Some(2));
        assert_eq!(drafts[1].lines[0].total(), 1);
    }

    #[test]
    fn bad_rows_are_named() {
        let text =
            "post,period_start,period_end,direction,nationality,men\nmugina,a,b,sideways,BI,x\n";
        let problems = parse_csv(text).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["row 2: men", "row 2: direction"]);
        let text = "post,period_start,period_end,direction,nationality\nmugina,a,b,sideways,BI\n";
        assert_eq!(parse_csv(text).unwrap_err()[0].field, "row 2: direction");
    }

    #[test]
    fn the_export_has_its_hxl_row_and_reads_back() {
        let drafts = parse_csv(TALLY).unwrap();
        let report = FlowReport {
            id: "r1".into(),
            post: "mugina".into(),
            corridor: "mugina-manyovu".into(),
            country: mpaka_protocol::Country::BI,
            sharing: FlowSharing::Joint,
            period_start: drafts[0].period_start.clone(),
            period_end: drafts[0].period_end.clone(),
            lines: drafts[0].lines.clone(),
            total: 39,
            version: 1,
            recorded_by: mpaka_protocol::Author {
                id: None,
                username: None,
                display_name: None,
                role: mpaka_protocol::Role::Officer,
                country: None,
                post: None,
            },
            recorded_at: "2026-11-30T14:00:00.000Z".into(),
            updated_at: "2026-11-30T14:00:00.000Z".into(),
        };
        let bytes = csv(std::slice::from_ref(&report)).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("#meta+id,#loc+code"));
        let back = parse_csv(&text).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].lines, report.lines);
        assert!(!xlsx(&[report], None).unwrap().is_empty());
    }
}
