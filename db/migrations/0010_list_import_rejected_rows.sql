-- Job 3, calling-list import: the rejected staged rows of a run, found without reading its good rows. The
-- apply counts them and the statistics log lists the first ones by line; both read the whole run (a million
-- rows for a million-row list) without this. Rejected rows are few, so the index is small and COPY barely
-- pays for it.
create index list_import_rows_rejected on list_import_rows (run_id, line) where reject_reason is not null;
