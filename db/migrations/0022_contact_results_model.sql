-- The contact and result model of wave 2 (seed 001 "Contact Status Change", seed 000 Results tab; API.md
-- "Contact lists" and "Campaign results"): the reason codes and the record status the dialer reports with each
-- attempt, and when a record was completed (its status became Closed). An attempt's number within its record is
-- not stored: readers count it (row_number over the record's attempts by completion), so no writer can get it wrong.
alter table contacts
  add column major_reason text,
  add column minor_reason text,
  add column closed_at    timestamptz;

alter table call_attempts
  add column major_reason   text,
  add column minor_reason   text,
  add column record_status  text check (record_status in ('Remaining', 'Processing', 'Callback', 'Closed', 'Inactive', 'Postponed'));

-- Every contact belongs to a named list of its campaign: those without one join the campaign's "default" list.
insert into calling_lists (campaign_id, name)
select distinct campaign_id, 'default' from contacts where list_id is null
on conflict (campaign_id, name) do nothing;
update contacts c set list_id = l.id
from calling_lists l
where c.list_id is null and l.campaign_id = c.campaign_id and l.name = 'default';

create index contacts_campaign_list on contacts (campaign_id, list_id);
create index contacts_campaign_closed on contacts (campaign_id, closed_at) where closed_at is not null;
create index call_attempts_contact_completed on call_attempts (contact_id, completed_at);
