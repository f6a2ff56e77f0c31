//! Reading the ten Zoho columns out of a driver row.

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::schema::Cells;

/// The ten cells of `row`, selected in [`crate::schema::COLUMNS`] order.
pub(crate) fn read_cells<R>(row: &R) -> Result<Cells, sqlx::Error>
where
    R: Row,
    usize: ColumnIndex<R>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    let mut cells: Cells = Default::default();
    for (index, cell) in cells.iter_mut().enumerate() {
        *cell = row.try_get::<Option<String>, _>(index)?;
    }
    Ok(cells)
}
