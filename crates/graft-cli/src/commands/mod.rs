//! One module per subcommand.

pub mod applications;
pub mod args;
pub mod augment;
pub mod convert;
pub mod demo;
pub mod download;
pub mod finetune;
pub mod plot;
pub mod predict;
pub mod report;
pub mod report_html;
pub mod run;
pub mod summary;
