//! The case-level verdict: the failure the analyst is most likely asking about, from the
//! verdicts of every connection. Healthy connections (the operator's own session) and
//! background outcomes (probes, other services) never win over a real failure.

use serde::Serialize;

use super::rules::{ClientCode, UNKNOWN};
use super::{Inputs, Verdict, collect_next};
use crate::noise::Storm;
use crate::vocab::{Cause, Severity};

static NONE: ClientCode = ClientCode { text: "none", disconnect: &[], extended: &[] };

/// The case-level verdict (DESIGN.md JSON `diagnosis`).
#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    pub cause: Cause,
    pub confidence: f64,
    pub summary: String,
    /// The representative connection (the best-supported failing attempt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    #[serde(serialize_with = "super::rules::ser_client_code")]
    pub client_code: &'static super::rules::ClientCode,
    /// How many attempts share the cause, out of how many failed.
    pub attempts: usize,
    pub failed_attempts: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collect: Vec<String>,
}

/// Picks the failure the analyst is asking about: causes weighted by how many failing attempts
/// share them and by confidence; healthy connections (the operator's own session) never count.
pub fn case_level(verdicts: &[(String, Verdict)], have: &Inputs) -> Diagnosis {
    let failing: Vec<&(String, Verdict)> = verdicts.iter().filter(|(_, v)| v.severity == Severity::Error).collect();
    let mut weights: Vec<(Cause, f64, usize)> = Vec::new();
    for (_, v) in failing.iter().filter(|(_, v)| v.cause != Cause::Undetermined) {
        match weights.iter_mut().find(|w| w.0 == v.cause) {
            Some(w) => {
                w.1 += v.confidence;
                w.2 += 1;
            }
            None => weights.push((v.cause, v.confidence, 1)),
        }
    }
    weights.sort_by(|a, b| b.1.total_cmp(&a.1));
    let best = weights.first().and_then(|&(cause, _, n)| {
        let rep = failing
            .iter()
            .filter(|(_, v)| v.cause == cause)
            .max_by(|a, b| a.1.confidence.total_cmp(&b.1.confidence))?;
        Some((n, rep))
    });
    if let Some((n, (id, v))) = best {
        return Diagnosis {
            cause: v.cause,
            confidence: v.confidence,
            summary: format!("{} ({} of {} failed attempt(s))", v.summary, n, failing.len()),
            connection: Some(id.clone()),
            client_code: v.client_code,
            attempts: n,
            failed_attempts: failing.len(),
            collect: Vec::new(),
        };
    }
    if !failing.is_empty() {
        return Diagnosis {
            cause: Cause::Undetermined,
            confidence: 0.2,
            summary: format!("{} attempt(s) failed but the evidence does not name a cause", failing.len()),
            connection: failing.first().map(|(id, _)| id.clone()),
            client_code: &UNKNOWN,
            attempts: 0,
            failed_attempts: failing.len(),
            collect: collect_next(have),
        };
    }
    if let Some((id, v)) =
        verdicts.iter().find(|(_, v)| v.cause == Cause::Undetermined && v.severity == Severity::Warning)
    {
        return Diagnosis {
            cause: Cause::Undetermined,
            confidence: v.confidence,
            summary: format!("no connection failed outright, but: {}", v.summary),
            connection: Some(id.clone()),
            client_code: &UNKNOWN,
            attempts: 0,
            failed_attempts: 0,
            collect: collect_next(have),
        };
    }
    if let Some((id, v)) = verdicts.iter().find(|(_, v)| v.severity == Severity::Warning) {
        return Diagnosis {
            cause: v.cause,
            confidence: v.confidence,
            summary: format!("no failed connection; degraded: {}", v.summary),
            connection: Some(id.clone()),
            client_code: v.client_code,
            attempts: 1,
            failed_attempts: 0,
            collect: Vec::new(),
        };
    }
    let healthy = verdicts.iter().any(|(_, v)| v.cause == Cause::None);
    if !healthy && let Some(d) = background(verdicts) {
        return d;
    }
    // Logs that hold no RDP attempt at all: nothing failed (the report says none was found).
    if verdicts.is_empty() && (have.server_logs || have.client_logs) {
        return Diagnosis {
            cause: Cause::None,
            confidence: 0.5,
            summary: "no RDP connection attempt found in the event logs: nothing failed".into(),
            connection: None,
            client_code: &NONE,
            attempts: 0,
            failed_attempts: 0,
            collect: Vec::new(),
        };
    }
    Diagnosis {
        cause: if healthy { Cause::None } else { Cause::Undetermined },
        confidence: if healthy { 0.8 } else { 0.1 },
        summary: if healthy {
            "no failed connection: every attempt completed".into()
        } else if verdicts.is_empty() {
            "no RDP connection attempt found in the inputs".into()
        } else {
            format!("{} attempt(s), none failed; the evidence does not show whether they succeeded", verdicts.len())
        },
        connection: None,
        client_code: if healthy { &NONE } else { &UNKNOWN },
        attempts: 0,
        failed_attempts: 0,
        collect: if healthy { Vec::new() } else { collect_next(have) },
    }
}

/// When nothing failed and nothing worked, the background is the answer: probes (scanners,
/// health checks) or another service on the port, counted with their sources.
fn background(verdicts: &[(String, Verdict)]) -> Option<Diagnosis> {
    let mut best: Option<(Cause, Vec<&(String, Verdict)>)> = None;
    for cause in [Cause::NotRdp, Cause::Probe] {
        let of: Vec<&(String, Verdict)> = verdicts.iter().filter(|(_, v)| v.cause == cause).collect();
        if !of.is_empty() && best.as_ref().is_none_or(|(_, b)| of.len() > b.len()) {
            best = Some((cause, of));
        }
    }
    let (cause, of) = best?;
    let (id, v) = of.first()?;
    let summary = match cause {
        Cause::Probe => {
            format!("no RDP logon was attempted: {} probe(s) (scanners, health checks, tools); {}", of.len(), v.summary)
        }
        _ => format!("no RDP server answered: {}", v.summary),
    };
    Some(Diagnosis {
        cause,
        confidence: v.confidence,
        summary,
        connection: Some(id.clone()),
        client_code: v.client_code,
        attempts: of.len(),
        failed_attempts: 0,
        collect: Vec::new(),
    })
}

/// The case-level verdict with password-guessing storms kept apart: storm failures never win
/// over another failure; when they are the only failures, the diagnosis names them and says
/// they are password guessing.
pub fn case_with_noise(verdicts: &[(String, Verdict)], have: &Inputs, storms: &[Storm]) -> Diagnosis {
    let ids: std::collections::BTreeSet<&str> = storms
        .iter()
        .flat_map(|s| s.members.iter().filter_map(|&i| verdicts.get(i).map(|(id, _)| id.as_str())))
        .collect();
    if ids.is_empty() {
        return case_level(verdicts, have);
    }
    type Named = Vec<(String, Verdict)>;
    let (noise, rest): (Named, Named) = verdicts.iter().cloned().partition(|(id, _)| ids.contains(id.as_str()));
    let sentence: Vec<String> = storms.iter().map(Storm::sentence).collect();
    let mut d = case_level(&rest, have);
    if d.failed_attempts == 0 {
        d = case_level(&noise, have);
        d.summary = format!("{}; {}", sentence.join("; "), d.summary);
    } else {
        d.summary = format!("{} (background, not the user's failure: {})", d.summary, sentence.join("; "));
    }
    d
}

/// The diagnosis when the only failures are other services' logons (`not-rdp`).
pub fn not_rdp(summary: String) -> Diagnosis {
    Diagnosis {
        cause: Cause::NotRdp,
        confidence: 0.7,
        summary,
        connection: None,
        client_code: &NONE,
        attempts: 0,
        failed_attempts: 0,
        collect: Vec::new(),
    }
}
