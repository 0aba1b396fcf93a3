//! Hand-written SVG: a chart frame (time on x, a linear or log scale on
//! y), axes, shaded fault windows, lines and dots, and HTML escaping. No
//! library: the charts need little, and the page must stay self-contained.

use std::fmt::Write as _;

use super::model::Window;

/// The most points one plot draws; more are thinned evenly.
pub(crate) const MAX_POINTS: usize = 20_000;

/// Colours of the three outcomes, shared by every chart and legend.
pub(crate) const OK: &str = "#2f6fce";
pub(crate) const FAIL: &str = "#d62728";
pub(crate) const INFO: &str = "#f0a30a";

const WIDTH: f64 = 960.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const BOTTOM: f64 = 34.0;
const LANE: f64 = 14.0;
/// Label rows above a plot; more overlapping faults share the last one.
const MAX_LANES: usize = 6;
/// Fault windows drawn per chart (a fault every few seconds makes a few
/// thousand in a long run; a broken nemesis must not make a huge page).
pub(crate) const MAX_WINDOWS: usize = 2_000;

/// How values map to heights.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scale {
    /// From 0 to `max`.
    Linear { max: f64 },
    /// From 10^`low` to 10^`high`.
    Log { low: i32, high: i32 },
}

impl Scale {
    /// A linear scale with a little headroom above `max`.
    pub(crate) fn linear(max: f64) -> Self {
        Scale::Linear {
            max: if max > 0.0 { max * 1.1 } else { 1.0 },
        }
    }

    /// The decades covering `[min, max]` (both positive).
    pub(crate) fn log(min: f64, max: f64) -> Self {
        let low = min.max(1e-3).log10().floor() as i32;
        // Headroom, so that values at a decade (timeouts of exactly 1 s)
        // do not sit on the frame.
        let high = ((max.max(1e-3) * 1.2).log10().ceil() as i32).max(low + 1);
        Scale::Log { low, high }
    }

    /// The position of `v` from 0 (bottom) to 1 (top), clamped.
    fn fraction(self, v: f64) -> f64 {
        let f = match self {
            Scale::Linear { max } => v / max,
            Scale::Log { low, high } => {
                (v.max(1e-9).log10() - f64::from(low)) / f64::from(high - low)
            }
        };
        f.clamp(0.0, 1.0)
    }

    fn ticks(self) -> Vec<f64> {
        match self {
            Scale::Linear { max } => {
                let step = nice_step(max, 5);
                (0..)
                    .map(|i| f64::from(i) * step)
                    .take_while(|v| *v <= max)
                    .collect()
            }
            Scale::Log { low, high } => (low..=high).map(|e| 10f64.powi(e)).collect(),
        }
    }
}

/// One chart: its size, its scales, and room above the plot for a row of
/// fault labels per lane.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    pub(crate) plot_height: f64,
    top: f64,
    seconds: f64,
    scale: Scale,
}

impl Frame {
    pub(crate) fn new(plot_height: f64, seconds: f64, scale: Scale, lanes: usize) -> Self {
        Frame {
            plot_height,
            top: 8.0 + LANE * lanes.min(MAX_LANES) as f64,
            seconds: seconds.max(1.0),
            scale,
        }
    }

    pub(crate) fn x(&self, seconds: f64) -> f64 {
        LEFT + (WIDTH - LEFT - RIGHT) * (seconds / self.seconds).clamp(0.0, 1.0)
    }

    pub(crate) fn y(&self, v: f64) -> f64 {
        self.top + self.plot_height * (1.0 - self.scale.fraction(v))
    }

    fn height(&self) -> f64 {
        self.top + self.plot_height + BOTTOM
    }

    /// Opens the `<svg>` element and draws the axes and the windows.
    pub(crate) fn open(
        &self,
        out: &mut String,
        label: &str,
        y_label: &str,
        windows: &[Window<'_>],
    ) {
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {h:.0}\" \
             width=\"{WIDTH}\" height=\"{h:.0}\" role=\"img\" aria-label=\"{}\">",
            esc(label),
            h = self.height()
        );
        self.shade(out, windows);
        self.axes(out, y_label);
    }

    /// Like [`Frame::open`] without a value axis and without the windows:
    /// for opaque strips, which the caller shades after drawing them.
    pub(crate) fn open_strips(&self, out: &mut String, label: &str) {
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {h:.0}\" \
             width=\"{WIDTH}\" height=\"{h:.0}\" role=\"img\" aria-label=\"{}\">",
            esc(label),
            h = self.height()
        );
        self.time_axis(out);
    }

    fn axes(&self, out: &mut String, y_label: &str) {
        let right = WIDTH - RIGHT;
        let _ = write!(
            out,
            "<path class=\"axis\" d=\"M{LEFT} {:.1}V{:.1}\"/>",
            self.top,
            self.top + self.plot_height
        );
        for v in self.scale.ticks() {
            let y = self.y(v);
            let _ = write!(
                out,
                "<path class=\"grid\" d=\"M{LEFT} {y:.1}H{right}\"/>\
                 <text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                LEFT - 4.0,
                y + 4.0,
                tick_label(v)
            );
        }
        self.time_axis(out);
        // Along the value axis, clear of the tick labels and the fault lanes.
        let _ = write!(
            out,
            "<text transform=\"translate(12 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            self.top + self.plot_height / 2.0,
            esc(y_label)
        );
    }

    fn time_axis(&self, out: &mut String) {
        let (bottom, right) = (self.top + self.plot_height, WIDTH - RIGHT);
        let _ = write!(
            out,
            "<path class=\"axis\" d=\"M{LEFT} {bottom:.1}H{right}\"/>"
        );
        let step = nice_step(self.seconds, 10);
        let mut t = 0.0;
        while t <= self.seconds {
            let x = self.x(t);
            let _ = write!(
                out,
                "<path class=\"axis\" d=\"M{x:.1} {bottom:.1}v4\"/>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                bottom + 16.0,
                tick_label(t)
            );
            t += step;
        }
        let _ = write!(
            out,
            "<text x=\"{right}\" y=\"{:.1}\" text-anchor=\"end\">time (s)</text>",
            bottom + 30.0
        );
    }

    /// The top of the plot area, pixels.
    pub(crate) fn top(&self) -> f64 {
        self.top
    }

    /// Every fault window: a translucent band over the plot (overlaps
    /// darken) and its kind in the label row of its lane; hovering shows
    /// the description.
    pub(crate) fn shade(&self, out: &mut String, windows: &[Window<'_>]) {
        let ns = 1e9;
        for w in windows.iter().take(MAX_WINDOWS) {
            let x0 = self.x(w.start_ns as f64 / ns);
            let width = (self.x(w.end_ns as f64 / ns) - x0).max(1.0);
            let title = format!(
                "{}{}",
                w.description,
                if w.open { " (never healed)" } else { "" }
            );
            let _ = write!(
                out,
                "<rect class=\"fault\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{width:.1}\" \
                 height=\"{:.1}\"><title>{}</title></rect>\
                 <text class=\"lane\" x=\"{:.1}\" y=\"{:.1}\">{}<title>{}</title></text>",
                self.top,
                self.plot_height,
                esc(&title),
                x0 + 1.0,
                self.top - 4.0 - LANE * w.lane.min(MAX_LANES - 1) as f64,
                esc(w.kind),
                esc(&title),
            );
        }
    }
}

/// Closes what [`Frame::open`] opened.
pub(crate) fn close(out: &mut String) {
    out.push_str("</svg>");
}

/// A polyline through `points` (x, y in pixels).
pub(crate) fn line(out: &mut String, colour: &str, dashed: bool, points: &[(f64, f64)]) {
    if points.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"{} points=\"",
        if dashed {
            " stroke-dasharray=\"4 3\""
        } else {
            ""
        }
    );
    for (x, y) in points {
        let _ = write!(out, "{x:.1},{y:.1} ");
    }
    out.push_str("\"/>");
}

/// Dots at `points` (pixels), as one path of zero-length round-capped
/// strokes: a dozen bytes a point instead of a `<circle>` each.
pub(crate) fn dots(out: &mut String, colour: &str, points: &[(f64, f64)]) {
    if points.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<path fill=\"none\" stroke=\"{colour}\" stroke-width=\"3\" stroke-linecap=\"round\" \
         stroke-opacity=\"0.6\" d=\""
    );
    for (x, y) in points {
        let _ = write!(out, "M{x:.1} {y:.1}h0");
    }
    out.push_str("\"/>");
}

/// Every `n`-th item so that at most `max` remain, evenly spread.
pub(crate) fn thin<T>(items: Vec<T>, max: usize) -> Vec<T> {
    let every = items.len().div_ceil(max.max(1)).max(1);
    items.into_iter().step_by(every).collect()
}

/// A step of 1, 2 or 5 × 10^k giving at most `count` steps up to `max`.
fn nice_step(max: f64, count: u32) -> f64 {
    let raw = (max / f64::from(count)).max(1e-9);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

fn tick_label(v: f64) -> String {
    if v != 0.0 && v.abs() < 1.0 {
        format!("{v}")
    } else {
        format!("{v:.0}")
    }
}

/// `text` safe inside HTML or SVG text and attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than whitespace are not allowed in
            // XML (the SVG) and mean nothing on a page.
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert(\"x\")</script> & 'y'\u{0}"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;\u{fffd}"
        );
    }

    #[test]
    fn thinning_keeps_at_most_the_cap_evenly() {
        let thinned = thin((0..100_001).collect::<Vec<_>>(), 20_000);
        assert!(thinned.len() <= 20_000);
        assert!(thinned.len() > 16_000);
        assert_eq!(thin(vec![1, 2, 3], 20_000), vec![1, 2, 3]);
        assert!(thin(Vec::<u8>::new(), 0).is_empty());
    }

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(60.0, 10), 10.0);
        assert_eq!(nice_step(180.0, 10), 20.0);
        assert_eq!(nice_step(7.0, 10), 1.0);
    }

    #[test]
    fn log_scale_covers_its_decades() {
        let Scale::Log { low, high } = Scale::log(0.3, 1500.0) else {
            panic!("a log scale");
        };
        assert_eq!((low, high), (-1, 4));
        let frame = Frame::new(100.0, 10.0, Scale::log(1.0, 1.0), 0);
        assert!(frame.y(1.0) > frame.y(10.0));
    }
}
