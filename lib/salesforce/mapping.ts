// The field mapping of a Salesforce export job: `{ "<Salesforce field>": "<result column>" }` (API.md "Campaign
// results"). Checked against the object's describe when the job is saved (so a saved job's records can be
// built), and applied to each result row when it is sent.
/** A problem with one field of a job (the API answers 400 with these). */
export interface FieldError { path: string; message: string }

/** The fixed result columns and what kind of value each holds; custom fields (text) follow by name. */
export const RESULT_COLUMNS = {
  client_id: 'text', name: 'text', phone: 'text', phone2: 'text', phone3: 'text', email: 'text', list: 'text',
  record_status: 'text', closed_at: 'datetime', attempt_number: 'number', attempt_phone: 'text',
  attempt_started_at: 'datetime', attempt_completed_at: 'datetime', status: 'text', disposition: 'text', agent: 'text',
  major_reason: 'text', minor_reason: 'text',
} as const;
export type ColumnKind = (typeof RESULT_COLUMNS)[keyof typeof RESULT_COLUMNS];

/** Salesforce field types a column of each kind may fill. */
const ACCEPTS: Record<ColumnKind, readonly string[]> = {
  text: ['string', 'textarea', 'picklist', 'multipicklist', 'combobox', 'email', 'phone', 'url', 'encryptedstring'],
  datetime: ['datetime', 'date', 'string', 'textarea'],
  number: ['int', 'double', 'currency', 'percent', 'long', 'string', 'textarea'],
};

export interface DescribedField {
  name: string; type: string; createable: boolean; updateable: boolean; nillable: boolean; defaultedOnCreate: boolean;
  externalId: boolean; idLookup?: boolean; length?: number;
}
export interface DescribedObject { name: string; createable?: boolean; fields: DescribedField[] }

export type FieldMap = Record<string, string>;
export type ResultRow = Record<string, string | number | null>;

export function columnKind(column: string): ColumnKind {
  return (RESULT_COLUMNS as Record<string, ColumnKind>)[column] ?? 'text';
}

/**
 * Every problem of a mapping, each naming the field: a Salesforce field the object does not have or that cannot
 * be set on create, a column of a type the field cannot hold, a result column that is neither fixed nor one of
 * the campaign's custom fields, a required field left unmapped; and an external id field that is not one.
 */
export function mappingErrors(object: DescribedObject, fieldMap: FieldMap, externalIdField: string | undefined, customFields: ReadonlySet<string>): FieldError[] {
  const errors: FieldError[] = [];
  const byName = new Map(object.fields.map((f) => [f.name.toLowerCase(), f]));
  for (const [fieldName, column] of Object.entries(fieldMap)) {
    const path = `fieldMap.${fieldName}`;
    const field = byName.get(fieldName.toLowerCase());
    if (!field) { errors.push({ path, message: `${object.name} has no field ${fieldName}` }); continue; }
    if (!field.createable) errors.push({ path, message: `${object.name}.${field.name} cannot be set when an object is created (not createable)` });
    if (!(column in RESULT_COLUMNS) && !customFields.has(column)) {
      errors.push({ path, message: `unknown result column "${column}": use one of ${Object.keys(RESULT_COLUMNS).join(', ')} or a custom field of the campaign's lists` });
      continue;
    }
    const kind = columnKind(column);
    if (!ACCEPTS[kind].includes(field.type)) {
      errors.push({ path, message: `type mismatch: ${object.name}.${field.name} is ${field.type}, result column "${column}" is ${kind}` });
    }
  }
  const mapped = new Set(Object.keys(fieldMap).map((f) => f.toLowerCase()));
  if (externalIdField) mapped.add(externalIdField.toLowerCase());
  for (const field of object.fields) {
    if (field.createable && !field.nillable && !field.defaultedOnCreate && field.type !== 'boolean' && !mapped.has(field.name.toLowerCase())) {
      errors.push({ path: 'fieldMap', message: `${object.name}.${field.name} is required: map a result column to it` });
    }
  }
  if (externalIdField !== undefined) {
    const field = byName.get(externalIdField.toLowerCase());
    if (!field) errors.push({ path: 'externalIdField', message: `${object.name} has no field ${externalIdField}` });
    else if (!field.externalId) errors.push({ path: 'externalIdField', message: `${object.name}.${field.name} is not an External ID field` });
    else if (!field.createable || !field.updateable) errors.push({ path: 'externalIdField', message: `${object.name}.${field.name} cannot be written (createable and updateable needed for an upsert)` });
  }
  return errors;
}

/** The Salesforce record for one result row: each mapped field its column's value, typed for the field. */
export function recordOf(row: ResultRow, fieldMap: FieldMap, types: ReadonlyMap<string, string>): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(fieldMap)) {
    const value = row[column] ?? null;
    const type = types.get(field.toLowerCase());
    if (value === null || value === '') record[field] = null;
    else if (type === 'date' && typeof value === 'string') record[field] = value.slice(0, 10);
    else if (['int', 'double', 'currency', 'percent', 'long'].includes(type ?? '') && typeof value === 'string') record[field] = Number(value);
    else if (['string', 'textarea'].includes(type ?? '') && typeof value === 'number') record[field] = String(value);
    else record[field] = value;
  }
  return record;
}

export function fieldTypes(object: DescribedObject): Map<string, string> {
  return new Map(object.fields.map((f) => [f.name.toLowerCase(), f.type]));
}

/** A result row for "test by creating object": the sample values a result of each column would have. */
export function sampleRow(at: Date): ResultRow {
  const iso = at.toISOString();
  return {
    client_id: 'TEST-0001', name: 'Test Record', phone: '+15550100001', phone2: null, phone3: null, email: 'test.record@example.com',
    list: 'test', record_status: 'Closed', closed_at: iso, attempt_number: 1, attempt_phone: '+15550100001',
    attempt_started_at: new Date(at.getTime() - 60_000).toISOString(), attempt_completed_at: iso, status: 'ANSWERED',
    disposition: 'Test', agent: 'test.agent', major_reason: null, minor_reason: null,
  };
}
