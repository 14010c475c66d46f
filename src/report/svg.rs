//! The swim-lane picture of one connection's timeline, as inline SVG for the HTML report.
//!
//! Takes a connection's timeline rows; produces an `<svg>` element with three lanes (client,
//! network, server), time running left to right from the connection's first packet, one
//! numbered marker per row (circle = packet, square = Windows event, red = decisive) whose
//! number matches the timeline table, and a tooltip with the row's text. Markers that fall on
//! the same moment are spread apart, with a tick at their true time. Every text from an input
//! goes through `escape::html`. Plain vector shapes, no script, no external fonts: it prints.

use std::fmt::Write as _;

use super::attempt::{Detail, Lane, Row};
use super::escape::html as esc;
use crate::evidence::Source;

const WIDTH: f64 = 960.0;
const LEFT: f64 = 96.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 8.0;
const LANE: f64 = 56.0;
const AXIS: f64 = 52.0;
const GAP: f64 = 24.0;
const LANES: [Lane; 3] = [Lane::Client, Lane::Network, Lane::Server];

fn lane_index(l: Lane) -> usize {
    match l {
        Lane::Client => 0,
        Lane::Network => 1,
        Lane::Server => 2,
    }
}

/// The time window drawn: the packets' span with a margin, plus the events inside it; rows far
/// outside (an event logged seconds before the connection) are pinned to the nearer edge
/// instead of squeezing the packets into a corner.
fn window(rows: &[Row]) -> (f64, f64) {
    let all = |f: fn(f64, f64) -> f64, init: f64| rows.iter().map(|r| r.offset_s).fold(init, f);
    let packets: Vec<f64> = rows.iter().filter(|r| r.source == Source::Packet).map(|r| r.offset_s).collect();
    if packets.is_empty() {
        return (all(f64::min, f64::INFINITY), all(f64::max, f64::NEG_INFINITY));
    }
    let p0 = packets.iter().copied().fold(0.0, f64::min);
    let p1 = packets.iter().copied().fold(0.0, f64::max);
    let margin = ((p1 - p0) * 0.25).max(0.001);
    (all(f64::min, p0).max(p0 - margin), all(f64::max, p1).min(p1 + margin))
}

/// A round step (1, 2 or 5 × 10^k) giving about `n` intervals over `span`.
fn nice_step(span: f64, n: f64) -> f64 {
    if span <= 0.0 || !span.is_finite() {
        return 1.0;
    }
    let raw = span / n;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// A tick label with as many decimals as the step needs: `+2 ms`, `-0.5 ms`, `+1.5 s`.
fn tick_label(t: f64, step: f64, span: f64) -> String {
    if t.abs() < step * 1e-6 {
        return "0".into();
    }
    let (value, unit_step, unit) = if span < 1.0 { (t * 1000.0, step * 1000.0, "ms") } else { (t, step, "s") };
    let decimals = if unit_step >= 1.0 { 0 } else { (-unit_step.log10().floor()) as usize };
    format!("{value:+.decimals$} {unit}")
}

/// Spreads positions (sorted) so that neighbours are at least `GAP` apart, inside the plot.
fn spread(xs: &mut [f64], lo: f64, hi: f64) {
    for i in 1..xs.len() {
        if xs[i] < xs[i - 1] + GAP {
            xs[i] = xs[i - 1] + GAP;
        }
    }
    if let Some(last) = xs.last_mut() {
        if *last > hi {
            *last = hi;
        }
    }
    for i in (0..xs.len().saturating_sub(1)).rev() {
        if xs[i] > xs[i + 1] - GAP {
            xs[i] = (xs[i + 1] - GAP).max(lo);
        }
    }
}

/// The swim-lane SVG of a connection; empty when it has no timeline.
pub fn swimlane(d: &Detail) -> String {
    let rows: &[Row] = &d.timeline;
    if rows.is_empty() {
        return String::new();
    }
    let (t0, t1) = window(rows);
    let span = t1 - t0;
    let plot = WIDTH - LEFT - RIGHT;
    let x_of = |t: f64| {
        let t = t.clamp(t0, t1);
        if span > 0.0 { LEFT + 12.0 + (t - t0) / span * (plot - 24.0) } else { LEFT + plot / 2.0 }
    };
    let outside = |t: f64| t < t0 - 1e-12 || t > t1 + 1e-12;
    let height = TOP + LANE * 3.0 + AXIS;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="swimlane" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="Timeline of {id}: client, network and server lanes" xmlns="http://www.w3.org/2000/svg">"#,
        id = esc(&d.row.id)
    );
    let _ = write!(s, "<title>Timeline of {}</title>", esc(&d.row.id));
    for (i, lane) in LANES.iter().enumerate() {
        let y = TOP + LANE * i as f64;
        let _ = write!(
            s,
            r#"<rect class="lane lane-{n}" x="{LEFT}" y="{y}" width="{plot}" height="{LANE}"/><text class="lane-label" x="{lx}" y="{ty}">{n}</text><line class="lane-axis" x1="{LEFT}" x2="{x2}" y1="{cy}" y2="{cy}"/>"#,
            n = lane.name(),
            lx = LEFT - 10.0,
            ty = y + LANE / 2.0 + 4.0,
            x2 = LEFT + plot,
            cy = y + LANE / 2.0
        );
    }
    // Time axis.
    let axis_y = TOP + LANE * 3.0;
    let _ = write!(s, r#"<line class="axis" x1="{LEFT}" x2="{}" y1="{axis_y}" y2="{axis_y}"/>"#, LEFT + plot);
    let step = nice_step(span, 6.0);
    let mut t = (t0 / step).ceil() * step;
    let mut ticks = 0;
    while t <= t1 + step * 1e-9 && ticks < 20 {
        let x = x_of(t);
        let label = tick_label(t, step, span);
        let _ = write!(
            s,
            r#"<line class="tick" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{y2}"/><text class="tick-label" x="{x:.1}" y="{ty}">{label}</text>"#,
            y2 = axis_y + 4.0,
            ty = axis_y + 17.0
        );
        t += step;
        ticks += 1;
    }
    if span == 0.0 {
        let x = x_of(0.0);
        let _ = write!(s, r#"<text class="tick-label" x="{x:.1}" y="{}">0</text>"#, axis_y + 17.0);
    }
    let _ = write!(
        s,
        r#"<text class="legend" x="{LEFT}" y="{}">time since the first packet (capture clock) · ● packet · ■ Windows event · red = decisive · dashed = outside this window · numbers match the table below</text>"#,
        axis_y + 38.0
    );
    // Markers, lane by lane, spread apart where they coincide.
    for lane in LANES {
        let mut mine: Vec<&Row> = rows.iter().filter(|r| r.lane == lane).collect();
        mine.sort_by(|a, b| a.offset_s.total_cmp(&b.offset_s).then(a.n.cmp(&b.n)));
        let true_x: Vec<f64> = mine.iter().map(|r| x_of(r.offset_s)).collect();
        let mut xs = true_x.clone();
        spread(&mut xs, LEFT + 12.0, LEFT + plot - 12.0);
        let cy = TOP + LANE * lane_index(lane) as f64 + LANE / 2.0;
        for ((r, x), tx) in mine.iter().zip(&xs).zip(&true_x) {
            let class = format!(
                "mark {}{}{}",
                r.source.as_str(),
                if r.key { " key" } else { "" },
                if outside(r.offset_s) { " outside" } else { "" }
            );
            let tip = format!("#{} {} {} {}: {}", r.n, r.time, r.lane.name(), r.reference, r.text);
            let _ = write!(s, r#"<g class="{class}"><title>{}</title>"#, esc(&tip));
            if (x - tx).abs() > 0.5 {
                let _ = write!(
                    s,
                    r#"<line class="leader" x1="{tx:.1}" x2="{x:.1}" y1="{y1}" y2="{y2}"/>"#,
                    y1 = cy + LANE / 2.0 - 2.0,
                    y2 = cy + 10.0
                );
            }
            let _ = write!(
                s,
                r#"<line class="true-time" x1="{tx:.1}" x2="{tx:.1}" y1="{}" y2="{}"/>"#,
                cy + LANE / 2.0 - 6.0,
                cy + LANE / 2.0
            );
            if r.source == Source::Event {
                let _ = write!(s, r#"<rect x="{:.1}" y="{:.1}" width="20" height="20" rx="3"/>"#, x - 10.0, cy - 10.0);
            } else {
                let _ = write!(s, r#"<circle cx="{x:.1}" cy="{cy:.1}" r="10.5"/>"#);
            }
            let _ = write!(s, r#"<text x="{x:.1}" y="{:.1}">{}</text></g>"#, cy + 3.5, r.n);
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_spreading() {
        assert_eq!(nice_step(0.005, 5.0), 0.001);
        assert_eq!(nice_step(7.0, 6.0), 2.0);
        assert_eq!(tick_label(0.002, 0.002, 0.01), "+2 ms");
        assert_eq!(tick_label(-0.0005, 0.0005, 0.01), "-0.5 ms");
        assert_eq!(tick_label(4.0, 2.0, 7.0), "+4 s");
        assert_eq!(tick_label(1e-12, 2.0, 7.0), "0");
        let mut xs = vec![100.0, 100.0, 100.0, 500.0];
        spread(&mut xs, 0.0, 1000.0);
        assert_eq!(xs, [100.0, 124.0, 148.0, 500.0]);
        let mut edge = vec![990.0, 995.0, 1000.0];
        spread(&mut edge, 0.0, 1000.0);
        assert_eq!(edge, [952.0, 976.0, 1000.0]);
    }
}
