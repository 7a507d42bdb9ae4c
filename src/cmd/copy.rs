//! `haul copy`: a live database into another, any engine to any engine,
//! through the restore pipeline with no archive on disk.

use super::restore::load;
use super::Global;
use crate::cli::CopyArgs;
use crate::conn::ConnSpec;
use crate::restore::session::Input;
use anyhow::Result;

pub fn run(args: CopyArgs, g: &Global) -> Result<()> {
    let source = ConnSpec::parse(&args.source, g.password_file.as_deref())?;
    load(
        Input::Live {
            source,
            chunk_size: args.chunk_size,
            schemas: {
                let f = super::with_schemas(Default::default(), &args.schemas);
                Box::new((f.schemas, f.exclude_schemas))
            },
        },
        Default::default(),
        &args.target,
        &args.load,
        g,
        args.dry_run,
    )
}
