// OpenTelemetry tracing through Temporal's interceptors: a client span for every start/signal/query, and
// on the worker spans for workflow and activity executions, linked across processes through the headers
// Temporal carries. Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (spans go there over OTLP/HTTP, JSON).
// Span attributes carry workflow ids and types only, never payloads (they stay encrypted).
import { createRequire } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import type { Config } from './config.js';

export interface Tracing {
  /** For `new Client({ interceptors: { workflow: ... } })`. */
  clientInterceptors: ClientInterceptors;
  /** Worker interceptors and the sink workflow spans are exported through. Workflow spans need the
   *  interceptor module bundled, so they are on only when the worker bundles workflows itself. */
  workerOptions(options: { bundlesWorkflows: boolean }): Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  /** Flushes spans still buffered. */
  shutdown(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** Starts tracing for this process, or returns undefined when it is not configured. */
export function startTracing(config: Pick<Config, 'OTEL_EXPORTER_OTLP_ENDPOINT'>, serviceName: string): Tracing | undefined {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return undefined;
  const resource = new Resource({ 'service.name': serviceName });
  // The variable is the collector's base URL, as in the OpenTelemetry spec; traces go to /v1/traces.
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
  const processor: SpanProcessor = new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  return {
    clientInterceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
    workerOptions: ({ bundlesWorkflows }) => ({
      interceptors: {
        activity: [(ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        })],
        ...(bundlesWorkflows ? { workflowModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')] } : {}),
      },
      sinks: { exporter: makeWorkflowExporter(processor, resource) },
    }),
    shutdown: () => provider.shutdown(),
  };
}
