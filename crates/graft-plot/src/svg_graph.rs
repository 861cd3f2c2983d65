//! SVG of the layer graph: boxes sized for DejaVu Sans, placed by layout-rs' Sugiyama layout
//! (what Graphviz' `dot` does), drawn as Keras-like tables.
//!
//! layout-rs only places the boxes and routes the edges: a capturing backend keeps the edge
//! curves it draws, and the boxes, their text (XML-escaped) and the nested-model groups are
//! written here, so the SVG needs no font but DejaVu Sans and no Graphviz.

use std::fmt::Write;

use graft_ir::Graph;
use layout::adt::dag::NodeHandle;
use layout::core::base::Orientation;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;
use layout::std_shapes::render::generate_curve_for_elements;
use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
use layout::topo::layout::VisualGraph;

use crate::PlotError;
use crate::model_graph::{PlotGraph, PlotNode, Row};
use crate::options::{ModelPlotOptions, RankDir};
use crate::text::{FONT_FAMILY, text_width, xml_escape};

const TITLE_FONT: f64 = 14.0;
const ROW_FONT: f64 = 12.0;
const TITLE_HEIGHT: f64 = 26.0;
const ROW_HEIGHT: f64 = 20.0;
const PAD_X: f64 = 8.0;
const MARGIN: f64 = 16.0;
/// Space around a nested model's boxes, and the height of its label.
const CLUSTER_PAD: f64 = 10.0;
const CLUSTER_LABEL: f64 = 16.0;

/// Fill colours of boxes by nesting depth: white at the top level, then light tints.
const FILLS: [&str; 4] = ["#ffffff", "#eef4fb", "#fdf3e7", "#eef8ee"];

/// The size of a box and where its pair rows split.
struct BoxGeometry {
    width: f64,
    height: f64,
    /// Width of the left column of `input:`/`output:` rows.
    split: f64,
}

fn geometry(node: &PlotNode) -> BoxGeometry {
    let mut width = text_width(&node.title, TITLE_FONT) + 2.0 * PAD_X;
    let (mut left, mut right) = (0.0f64, 0.0f64);
    for row in &node.rows {
        match row {
            Row::Pair(a, b) => {
                left = left.max(text_width(a, ROW_FONT) + 2.0 * PAD_X);
                right = right.max(text_width(b, ROW_FONT) + 2.0 * PAD_X);
            }
            Row::Single(a) => width = width.max(text_width(a, ROW_FONT) + 2.0 * PAD_X),
        }
    }
    width = width.max(left + right).max(40.0).ceil();
    BoxGeometry {
        width,
        height: TITLE_HEIGHT + ROW_HEIGHT * node.rows.len() as f64,
        split: left,
    }
}

/// layout-rs renders as it lays out; the drawing here is done from the placed elements, so its
/// own drawing calls are dropped.
struct NoDraw;

impl RenderBackend for NoDraw {
    fn draw_rect(
        &mut self,
        _: Point,
        _: Point,
        _: &StyleAttr,
        _: Option<String>,
        _: Option<usize>,
    ) {
    }
    fn draw_line(&mut self, _: Point, _: Point, _: &StyleAttr, _: Option<String>) {}
    fn draw_circle(&mut self, _: Point, _: Point, _: &StyleAttr, _: Option<String>) {}
    fn draw_text(&mut self, _: Point, _: &str, _: &StyleAttr) {}
    fn draw_arrow(
        &mut self,
        _: &[(Point, Point)],
        _: bool,
        _: (bool, bool),
        _: &StyleAttr,
        _: Option<String>,
        _: &str,
    ) {
    }
    fn create_clip(&mut self, _: Point, _: Point, _: usize) -> ClipHandle {
        0
    }
}

/// The laid-out graph and the handle of each box.
struct Laid {
    vg: VisualGraph,
    handles: Vec<NodeHandle>,
}

/// Lays the boxes out; `place` runs layout-rs' Brandes-Köpf coordinate assignment, otherwise
/// boxes only get their rank and their order within it.
fn lay_out(
    pg: &PlotGraph,
    geos: &[BoxGeometry],
    orientation: Orientation,
    place: bool,
) -> Option<Laid> {
    let mut vg = VisualGraph::new(orientation);
    // The DAG's self-check re-verifies the whole graph after every edge it adds (cubic time,
    // minutes for DenseNet); the edges come from the IR's acyclic calls, so skip it.
    vg.dag.set_validate(false);
    let handles: Vec<NodeHandle> = geos
        .iter()
        .map(|g| {
            let shape = ShapeKind::Box(String::new());
            let size = Point::new(g.width, g.height);
            vg.add_node(Element::create(
                shape,
                StyleAttr::simple(),
                orientation,
                size,
            ))
        })
        .collect();
    for &(a, b) in &pg.edges {
        vg.add_edge(Arrow::simple(""), handles[a], handles[b]);
    }
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        vg.do_it(false, false, !place, &mut NoDraw)
    }))
    .ok()?;
    Some(Laid { vg, handles })
}

/// The cross-rank axis: x for top-to-bottom graphs, y for left-to-right ones.
fn cross(p: Point, orientation: Orientation) -> f64 {
    if orientation.is_top_to_bottom() {
        p.x
    } else {
        p.y
    }
}

/// `(breadth of the drawing across ranks, breadth of its widest rank)`.
fn breadths(laid: &Laid, orientation: Orientation) -> (f64, f64) {
    let dag = &laid.vg.dag;
    let (mut lo, mut hi, mut widest) = (f64::MAX, f64::MIN, 0.0f64);
    for level in 0..dag.num_levels() {
        let mut sum = 0.0;
        for &n in dag.row(level) {
            let pos = laid.vg.pos(n);
            let (a, b) = pos.bbox(false);
            lo = lo.min(cross(a, orientation));
            hi = hi.max(cross(b, orientation));
            sum += cross(pos.size(true), orientation);
        }
        widest = widest.max(sum);
    }
    (hi - lo, widest)
}

/// Centres every rank on the same axis (after a layout without coordinate assignment, which
/// packs each rank against one side).
fn centre_ranks(laid: &mut Laid, orientation: Orientation) {
    for level in 0..laid.vg.dag.num_levels() {
        let row = laid.vg.dag.row(level).clone();
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for &n in &row {
            let (a, b) = laid.vg.pos(n).bbox(false);
            lo = lo.min(cross(a, orientation));
            hi = hi.max(cross(b, orientation));
        }
        let shift = -(lo + hi) / 2.0;
        let d = if orientation.is_top_to_bottom() {
            Point::new(shift, 0.0)
        } else {
            Point::new(0.0, shift)
        };
        for n in row {
            laid.vg.pos_mut(n).translate(d);
        }
    }
}

/// The curve of every edge, through the connectors layout-rs put on the ranks it crosses.
fn edge_paths(laid: &Laid) -> Vec<Vec<(Point, Point)>> {
    let vg = &laid.vg;
    let mut paths = vec![];
    for &h in &laid.handles {
        for &first in vg.succ(h) {
            let mut chain = vec![vg.element(h).clone()];
            let mut cur = first;
            while vg.is_connector(cur) {
                chain.push(vg.element(cur).clone());
                match vg.succ(cur).first() {
                    Some(&next) => cur = next,
                    None => break,
                }
            }
            if vg.is_connector(cur) {
                continue;
            }
            chain.push(vg.element(cur).clone());
            paths.push(generate_curve_for_elements(
                &chain,
                &Arrow::simple(""),
                30.0,
            ));
        }
    }
    paths
}

/// A placed box: top-left corner and geometry.
struct Placed {
    x: f64,
    y: f64,
    geo: BoxGeometry,
}

/// Bounds `(min_x, min_y, max_x, max_y)` grown to include a rectangle.
fn grow(b: &mut (f64, f64, f64, f64), x0: f64, y0: f64, x1: f64, y1: f64) {
    b.0 = b.0.min(x0);
    b.1 = b.1.min(y0);
    b.2 = b.2.max(x1);
    b.3 = b.3.max(y1);
}

/// SVG of a model's layer graph.
pub fn model_to_svg(graph: &Graph, opts: &ModelPlotOptions) -> Result<String, PlotError> {
    let pg = PlotGraph::build(graph, opts)?;
    if pg.nodes.is_empty() {
        return Ok(empty_svg(&graph.name));
    }
    let orientation = match opts.rankdir {
        RankDir::TB => Orientation::TopToBottom,
        RankDir::LR => Orientation::LeftToRight,
    };
    let geos: Vec<BoxGeometry> = pg.nodes.iter().map(geometry).collect();
    let layout_failed = || PlotError::Graph {
        model: graph.name.clone(),
        message: "the graph layout failed".into(),
    };
    let mut laid = lay_out(&pg, &geos, orientation, true).ok_or_else(layout_failed)?;
    // Brandes-Köpf placement can drift into a staircase on long chains with skip edges
    // (DenseNet: 5800 px wide for 380 px of boxes). Then keep the ranks and their order, and
    // centre each rank instead.
    let (breadth, widest) = breadths(&laid, orientation);
    if breadth > 2.0 * widest + 400.0 {
        laid = lay_out(&pg, &geos, orientation, false).ok_or_else(layout_failed)?;
        centre_ranks(&mut laid, orientation);
    }
    let paths = edge_paths(&laid);
    let placed: Vec<Placed> = laid
        .handles
        .iter()
        .zip(geos)
        .map(|(&h, geo)| {
            let c = laid.vg.pos(h).center();
            Placed {
                x: c.x - geo.width / 2.0,
                y: c.y - geo.height / 2.0,
                geo,
            }
        })
        .collect();

    // Group outlines, outermost first so inner ones are drawn over them.
    let mut clusters = vec![];
    for ci in 0..pg.clusters.len() {
        let mut b = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for (n, p) in pg.nodes.iter().zip(&placed) {
            if pg.cluster_within(n.cluster, ci) {
                grow(&mut b, p.x, p.y, p.x + p.geo.width, p.y + p.geo.height);
            }
        }
        if b.0 <= b.2 {
            let depth = depth_of(&pg, Some(ci));
            // Inner groups sit a little inside their parents.
            let pad = CLUSTER_PAD + 6.0 * (max_depth(&pg) - depth) as f64;
            let rect = (b.0 - pad, b.1 - pad - CLUSTER_LABEL, b.2 + pad, b.3 + pad);
            clusters.push((ci, depth, rect));
        }
    }
    clusters.sort_by_key(|c| c.1);

    let mut bounds = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in &placed {
        grow(&mut bounds, p.x, p.y, p.x + p.geo.width, p.y + p.geo.height);
    }
    for (_, _, r) in &clusters {
        grow(&mut bounds, r.0, r.1, r.2, r.3);
    }
    for path in &paths {
        for (a, b) in path {
            grow(&mut bounds, a.x, a.y, a.x, a.y);
            grow(&mut bounds, b.x, b.y, b.x, b.y);
        }
    }
    let (dx, dy) = (MARGIN - bounds.0, MARGIN - bounds.1);
    let width = (bounds.2 - bounds.0 + 2.0 * MARGIN).ceil();
    let height = (bounds.3 - bounds.1 + 2.0 * MARGIN).ceil();

    let mut s = String::with_capacity(600 * pg.nodes.len() + 1000);
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT_FAMILY}">
<title>{}</title>
<defs><marker id="arrow" markerWidth="10" markerHeight="7" refX="10" refY="3.5" orient="auto" markerUnits="userSpaceOnUse"><polygon points="0 0, 10 3.5, 0 7" fill="#444444"/></marker></defs>
<rect width="100%" height="100%" fill="#ffffff"/>
<g transform="translate({dx:.1} {dy:.1})">
"##,
        xml_escape(&graph.name)
    );
    for (ci, _, r) in &clusters {
        let _ = writeln!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="6" fill="none" stroke="#777777" stroke-width="1" stroke-dasharray="6,4"/>"##,
            r.0,
            r.1,
            r.2 - r.0,
            r.3 - r.1
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="{ROW_FONT}" fill="#555555">{}</text>"##,
            r.0 + 6.0,
            r.1 + 13.0,
            xml_escape(&pg.clusters[*ci].label)
        );
    }
    for path in &paths {
        if path.len() < 2 {
            continue;
        }
        let _ = write!(
            s,
            "<path d=\"M {:.1} {:.1} C {:.1} {:.1}, {:.1} {:.1}, {:.1} {:.1}",
            path[0].0.x,
            path[0].0.y,
            path[0].1.x,
            path[0].1.y,
            path[1].0.x,
            path[1].0.y,
            path[1].1.x,
            path[1].1.y
        );
        for p in &path[2..] {
            let _ = write!(s, " S {:.1} {:.1}, {:.1} {:.1}", p.0.x, p.0.y, p.1.x, p.1.y);
        }
        s.push_str("\" fill=\"none\" stroke=\"#444444\" stroke-width=\"1.2\" marker-end=\"url(#arrow)\"/>\n");
    }
    for (node, p) in pg.nodes.iter().zip(&placed) {
        let fill = FILLS[depth_of(&pg, node.cluster).min(FILLS.len() - 1)];
        draw_box(&mut s, node, p, fill);
    }
    s.push_str("</g>\n</svg>\n");
    Ok(s)
}

fn depth_of(pg: &PlotGraph, mut c: Option<usize>) -> usize {
    let mut d = 0;
    while let Some(i) = c {
        d += 1;
        c = pg.clusters[i].parent;
    }
    d
}

fn max_depth(pg: &PlotGraph) -> usize {
    (0..pg.clusters.len())
        .map(|i| depth_of(pg, Some(i)))
        .max()
        .unwrap_or(0)
}

/// One layer's table: the title, then one line per row.
fn draw_box(s: &mut String, node: &PlotNode, p: &Placed, fill: &str) {
    let (x, y, w, h) = (p.x, p.y, p.geo.width, p.geo.height);
    let _ = writeln!(
        s,
        r##"<g><rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}" stroke="#222222" stroke-width="1"/>"##
    );
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" font-size="{TITLE_FONT}" text-anchor="middle" fill="#000000">{}</text>"##,
        x + w / 2.0,
        y + TITLE_HEIGHT / 2.0 + TITLE_FONT * 0.36,
        xml_escape(&node.title)
    );
    let mut top = y + TITLE_HEIGHT;
    for row in &node.rows {
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{top:.1}" x2="{:.1}" y2="{top:.1}" stroke="#222222" stroke-width="1"/>"##,
            x + w
        );
        let base = top + ROW_HEIGHT / 2.0 + ROW_FONT * 0.36;
        match row {
            Row::Pair(a, b) => {
                let split = x + p.geo.split;
                let _ = writeln!(
                    s,
                    r##"<line x1="{split:.1}" y1="{top:.1}" x2="{split:.1}" y2="{:.1}" stroke="#222222" stroke-width="1"/>"##,
                    top + ROW_HEIGHT
                );
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{base:.1}" font-size="{ROW_FONT}" fill="#000000">{}</text>"##,
                    x + PAD_X,
                    xml_escape(a)
                );
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{base:.1}" font-size="{ROW_FONT}" text-anchor="middle" fill="#000000">{}</text>"##,
                    (split + x + w) / 2.0,
                    xml_escape(b)
                );
            }
            Row::Single(a) => {
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{base:.1}" font-size="{ROW_FONT}" text-anchor="middle" fill="#000000">{}</text>"##,
                    x + w / 2.0,
                    xml_escape(a)
                );
            }
        }
        top += ROW_HEIGHT;
    }
    s.push_str("</g>\n");
}

/// A model without layers: a small note rather than an empty image.
fn empty_svg(name: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="240" height="60" viewBox="0 0 240 60" font-family="{FONT_FAMILY}">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="120" y="35" font-size="{ROW_FONT}" text-anchor="middle">{} (no layers)</text>
</svg>
"##,
        xml_escape(name)
    )
}
