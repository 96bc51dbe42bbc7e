// Every workflow the worker hosts. Each job adds its export here.
export * from './recording-export.js';
export * from './erasure.js';
export * from './content-expiry.js';
export * from './report.js';
export * from './results-download.js';
export * from './results-export.js';
export * from './salesforce-export.js';
export * from './list-import.js';
export * from './exclusions-import.js';
export * from './contact-process.js';
export * from './campaign-lock.js';
export * from './job.js';
export * from './campaign-trigger.js';
export * from './chores.js';
