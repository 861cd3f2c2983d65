//! Layer-graph plots of hand-built graphs: which boxes and edges the DOT text and the SVG hold,
//! what each option adds, how nested models are collapsed or expanded, that deep graphs stay
//! readable and rasterise within the limits, and that bad paths and graphs are refused.

mod common;

use graft_ir::Graph;
use graft_plot::{
    MAX_PNG_SIDE, ModelPlotOptions, PlotError, RankDir, model_to_dot, model_to_svg, plot_model,
    svg_to_png,
};

/// The `"a" -> "b"` edge lines of a DOT text, in order.
fn dot_edges(dot: &str) -> Vec<(String, String)> {
    dot.lines()
        .filter_map(|l| {
            let l = l.trim().strip_suffix(';')?;
            let (a, b) = l.split_once(" -> ")?;
            Some((
                a.trim_matches('"').to_string(),
                b.trim_matches('"').to_string(),
            ))
        })
        .collect()
}

fn edge(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

/// Width and height of a PNG, from its IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

/// `width="W" height="H"` of the SVG root element.
fn svg_size(svg: &str) -> (f64, f64) {
    let attr = |name: &str| -> f64 {
        let start = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        let end = start + svg[start..].find('"').unwrap();
        svg[start..end].parse().unwrap()
    };
    (attr("width"), attr("height"))
}

/// Boxes drawn in an SVG: one `<g><rect` per layer.
fn svg_boxes(svg: &str) -> usize {
    svg.matches("<g><rect").count()
}

#[test]
fn defaults_are_keras3_plot_model_defaults() {
    let d = ModelPlotOptions::default();
    assert!(!d.show_shapes && !d.show_layer_names && !d.expand_nested);
    assert!(!d.show_layer_activations && !d.show_trainable);
    assert_eq!(d.rankdir, RankDir::TB);
    assert_eq!(d.dpi, 200.0);
    assert_eq!("lr".parse::<RankDir>().unwrap(), RankDir::LR);
    assert!("XY".parse::<RankDir>().unwrap_err().contains("XY"));
}

#[test]
fn dot_has_one_edge_per_connection_and_keras_labels() {
    let g = common::residual();
    let dot = model_to_dot(&g, &ModelPlotOptions::default()).unwrap();
    assert_eq!(
        dot_edges(&dot),
        vec![
            edge("x", "a"),
            edge("a", "b"),
            edge("x", "add"),
            edge("b", "add"),
            edge("add", "head")
        ]
    );
    assert!(dot.contains("rankdir=TB;"), "{dot}");
    // Without layer names a box is its class name only; with them, `name (Class)`.
    assert!(dot.contains("\"head\" [label=\"{Dense}\"];"), "{dot}");
    let named = ModelPlotOptions {
        show_layer_names: true,
        rankdir: RankDir::LR,
        ..Default::default()
    };
    let dot = model_to_dot(&g, &named).unwrap();
    assert!(dot.contains("rankdir=LR;"), "{dot}");
    assert!(dot.contains("\"head\" [label=\"head (Dense)\"];"), "{dot}");
}

#[test]
fn shapes_activations_and_trainability_rows() {
    let opts = ModelPlotOptions {
        show_shapes: true,
        show_layer_names: true,
        show_layer_activations: true,
        show_trainable: true,
        ..Default::default()
    };
    let dot = model_to_dot(&common::small(), &opts).unwrap();
    let conv = dot.lines().find(|l| l.contains("\"conv\" [")).unwrap();
    assert!(conv.contains("{input:|(None, 32, 32, 3)}"), "{conv}");
    assert!(conv.contains("{output:|(None, 32, 32, 8)}"), "{conv}");
    assert!(conv.contains("Trainable: Y"), "{conv}");
    let act = dot.lines().find(|l| l.contains("\"act\" [")).unwrap();
    assert!(act.contains("Activation: relu"), "{act}");
    // An input layer shows its own shape on both rows, as Keras does.
    let x = dot.lines().find(|l| l.contains("\"x\" [")).unwrap();
    assert!(
        x.contains("{input:|(None, 32, 32, 3)}|{output:|(None, 32, 32, 3)}"),
        "{x}"
    );

    // The same rows in the SVG.
    let svg = model_to_svg(&common::small(), &opts).unwrap();
    assert_eq!(svg_boxes(&svg), 4);
    for text in [
        "conv (Conv2D)",
        "(None, 32, 32, 8)",
        "Activation: relu",
        "Trainable: Y",
    ] {
        assert!(svg.contains(text), "{text} missing");
    }
}

#[test]
fn nested_models_collapse_to_one_box_or_expand_into_a_group() {
    let g = common::nested();
    let opts = ModelPlotOptions {
        show_layer_names: true,
        show_trainable: true,
        ..Default::default()
    };
    let dot = model_to_dot(&g, &opts).unwrap();
    assert_eq!(
        dot_edges(&dot),
        vec![edge("img", "backbone"), edge("backbone", "head")]
    );
    assert!(!dot.contains("subgraph"), "{dot}");
    let backbone = dot.lines().find(|l| l.contains("\"backbone\" [")).unwrap();
    assert!(backbone.contains("Trainable: N"), "{backbone}");

    let expanded = ModelPlotOptions {
        expand_nested: true,
        ..opts
    };
    let dot = model_to_dot(&g, &expanded).unwrap();
    assert_eq!(
        dot_edges(&dot),
        vec![
            edge("backbone/inner_in", "backbone/inner_dense"),
            edge("backbone/inner_dense", "backbone/inner_out"),
            edge("img", "backbone/inner_in"),
            edge("backbone/inner_out", "head"),
        ]
    );
    assert!(dot.contains("subgraph \"cluster_backbone\""), "{dot}");
    // The frozen nested model's layers are frozen however they are flagged inside.
    let inner = dot
        .lines()
        .find(|l| l.contains("\"backbone/inner_dense\" ["))
        .unwrap();
    assert!(inner.contains("Trainable: N"), "{inner}");
    let head = dot.lines().find(|l| l.contains("\"head\" [")).unwrap();
    assert!(head.contains("Trainable: Y"), "{head}");

    let svg = model_to_svg(&g, &expanded).unwrap();
    assert_eq!(svg_boxes(&svg), 5);
    assert!(
        svg.contains("stroke-dasharray"),
        "the group outline is drawn"
    );
    assert!(svg.contains("backbone (Functional)"));
}

#[test]
fn rank_direction_turns_the_drawing() {
    let chain = common::small();
    let tb = model_to_svg(&chain, &ModelPlotOptions::default()).unwrap();
    let lr = model_to_svg(
        &chain,
        &ModelPlotOptions {
            rankdir: RankDir::LR,
            ..Default::default()
        },
    )
    .unwrap();
    let (tw, th) = svg_size(&tb);
    let (lw, lh) = svg_size(&lr);
    assert!(th > tw, "a chain top to bottom is tall: {tw} x {th}");
    assert!(lw > lh, "a chain left to right is wide: {lw} x {lh}");
}

#[test]
fn deep_graph_stays_narrow_and_rasterises_within_limits() {
    let g = common::densenet_like();
    let opts = ModelPlotOptions {
        show_shapes: true,
        show_layer_names: true,
        ..Default::default()
    };
    let svg = model_to_svg(&g, &opts).unwrap();
    assert_eq!(svg_boxes(&svg), g.layers.len());
    let (w, h) = svg_size(&svg);
    // 428 boxes in a column with skip edges: readable means a column, not a staircase.
    assert!(w < 1500.0, "DenseNet-like graph drawn {w} px wide");
    assert!(h > 20.0 * g.layers.len() as f64, "{h}");
    // Far taller than a PNG may be at 200 dpi: plot_model scales it down to fit.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("densenet.png");
    plot_model(&g, &path, &opts).unwrap();
    let (pw, ph) = png_size(&std::fs::read(&path).unwrap());
    assert!(pw <= MAX_PNG_SIDE && ph <= MAX_PNG_SIDE, "{pw} x {ph}");
    assert!(ph > 2000, "{pw} x {ph}");
    // The raw rasteriser refuses rather than allocating the oversized image.
    let err = svg_to_png(&svg, 10.0).unwrap_err();
    assert!(matches!(err, PlotError::ImageTooLarge { .. }), "{err}");
}

#[test]
fn plot_model_writes_each_format_by_extension_and_nothing_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let g = common::residual();
    let opts = ModelPlotOptions {
        dpi: 96.0,
        ..Default::default()
    };
    plot_model(&g, &dir.path().join("m.svg"), &opts).unwrap();
    plot_model(&g, &dir.path().join("m.dot"), &opts).unwrap();
    plot_model(&g, &dir.path().join("m.png"), &opts).unwrap();
    let svg = std::fs::read_to_string(dir.path().join("m.svg")).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(
        std::fs::read_to_string(dir.path().join("m.dot"))
            .unwrap()
            .starts_with("digraph G {")
    );
    // The PNG is the SVG at dpi / 96.
    let (pw, ph) = png_size(&std::fs::read(dir.path().join("m.png")).unwrap());
    let (sw, sh) = svg_size(&svg);
    assert_eq!((pw, ph), (sw as u32, sh as u32));

    let gif = dir.path().join("m.gif");
    let err = plot_model(&g, &gif, &opts).unwrap_err();
    assert!(err.to_string().contains("m.gif"), "{err}");
    let missing = dir.path().join("no/such/folder/m.svg");
    let err = plot_model(&g, &missing, &opts).unwrap_err();
    assert!(err.to_string().contains("m.svg"), "{err}");
    let bad_dpi = ModelPlotOptions {
        dpi: 0.0,
        ..Default::default()
    };
    assert!(plot_model(&g, &dir.path().join("z.png"), &bad_dpi).is_err());
    // Only the three good files, no temporary left behind.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["m.dot", "m.png", "m.svg"]);
}

#[test]
fn broken_graphs_are_refused_naming_the_layer() {
    let mut g = common::residual();
    let head = g.layers.iter().position(|l| l.name == "head").unwrap();
    g.layers[head].nodes[0].inputs[0].layer = "ghost".into();
    let err = model_to_dot(&g, &ModelPlotOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("residual") && msg.contains("head") && msg.contains("ghost"),
        "{msg}"
    );

    let mut g = common::small();
    let dup = g.layers.iter().position(|l| l.name == "act").unwrap();
    g.layers[dup].name = "conv".into();
    let err = model_to_svg(&g, &ModelPlotOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("two layers are named 'conv'"),
        "{err}"
    );

    // A model without layers is drawn as a note, not an error.
    let svg = model_to_svg(&Graph::new("empty"), &ModelPlotOptions::default()).unwrap();
    assert!(svg.contains("empty (no layers)"));
}
