//! Large objects' bytes, once the tables' rows are in (the objects were
//! created, empty, with the objects before the tables). An archive's
//! stream is written chunk by chunk in its order, each chunk in one
//! transaction with its journal mark, so a resumed restore writes exactly
//! the chunks not in; a copy reads the source's through a channel a chunk
//! deep and is marked once all are in (a resumed copy writes every object
//! again, each emptied first). Only the objects this restore creates get
//! their bytes: none into another engine, into an existing schema, or
//! where `--clean` was not given and the target had one already (that
//! fails when it is created).

use super::super::context::Ctx;
use crate::model::objects::LARGE_OBJECT_KIND;
use anyhow::Result;
use std::collections::HashSet;

/// Write the bytes of the large objects this restore creates.
pub async fn load(cx: &Ctx<'_>) -> Result<()> {
    let schema = cx.schema();
    if schema.large_objects.is_empty() {
        return Ok(());
    }
    let only: HashSet<u32> = super::super::objects::all(&cx.plan, schema)
        .iter()
        .filter(|x| x.kind == LARGE_OBJECT_KIND)
        .filter_map(|x| x.name.parse().ok())
        .collect();
    if only.is_empty() {
        return Ok(());
    }
    let pieces = cx
        .feed
        .load_large_objects(cx.target.as_ref(), &only, &cx.done)
        .await?;
    let bytes: u64 = schema
        .large_objects
        .iter()
        .filter(|o| only.contains(&o.oid))
        .map(|o| o.bytes)
        .sum();
    cx.progress.note(&format!(
        "large objects: {} written ({bytes} bytes; {pieces} pieces this run)",
        only.len()
    ));
    Ok(())
}
