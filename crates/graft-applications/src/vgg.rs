//! VGG16 and VGG19 (`keras/src/applications/vgg16.py`, `vgg19.py`).

use graft_ir::{Activation, Graph};

use crate::error::Result;
use crate::net::{Conv, Net};
use crate::options::{Options, obtain_input_shape};

/// Convolutions per block: VGG16 `[2, 2, 3, 3, 3]`, VGG19 `[2, 2, 4, 4, 4]`.
pub(crate) fn vgg(app: &str, name: &str, convs: [usize; 5], opts: &Options) -> Result<Graph> {
    opts.check_common(app)?;
    let shape = obtain_input_shape(
        app,
        opts.input_shape,
        224,
        32,
        opts.include_top,
        &opts.weights,
    )?;
    let mut net = Net::new(opts.name.as_deref().unwrap_or(name));
    let mut x = net.input(shape);
    for (block, (&n, filters)) in convs.iter().zip([64, 128, 256, 512, 512]).enumerate() {
        let b = block + 1;
        for i in 1..=n {
            let conv = Conv::new(filters, 3).same().activation(Activation::Relu);
            x = net.conv(format!("block{b}_conv{i}"), &x, conv)?;
        }
        x = net.max_pool(Some(format!("block{b}_pool")), &x, 2, 2)?;
    }
    if opts.include_top {
        x = net.flatten(Some("flatten".into()), &x)?;
        x = net.dense("fc1", &x, 4096, Activation::Relu)?;
        x = net.dense("fc2", &x, 4096, Activation::Relu)?;
        opts.check_activation(app)?;
        x = net.dense("predictions", &x, opts.classes, opts.top_activation())?;
    } else {
        x = net.pooling(x, opts.pooling, false)?;
    }
    Ok(net.finish(x))
}
