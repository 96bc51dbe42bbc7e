// The step graph of a job (seed 002: each step has a "Next Success Step" and a "Next Failure Step"). Pure: the
// API validates a definition with it on save and the job workflow follows it, so both read the links alike.
// By default success goes to the next step in the list (the end after the last one) and failure fails the run.
import { END, FAIL, type JobStep } from './job.js';

export function successOf(steps: readonly JobStep[], index: number): string {
  return steps[index].onSuccess ?? (index + 1 < steps.length ? steps[index + 1].name : END);
}

export function failureOf(steps: readonly JobStep[], index: number): string {
  return steps[index].onFailure ?? FAIL;
}

export interface GraphError { path: string; message: string }

/** Unknown step names, duplicate names, cycles and steps no path reaches, each naming the step. */
export function graphErrors(steps: readonly JobStep[]): GraphError[] {
  const errors: GraphError[] = [];
  const index = new Map<string, number>();
  steps.forEach((step, i) => {
    if (index.has(step.name)) errors.push({ path: `steps.${i}.name`, message: `step name "${step.name}" is used twice; step names must be unique` });
    else index.set(step.name, i);
  });
  const links = (i: number): number[] => {
    const out: number[] = [];
    for (const [field, target] of [['onSuccess', successOf(steps, i)], ['onFailure', failureOf(steps, i)]] as const) {
      if (target === END || target === FAIL) continue;
      const to = index.get(target);
      if (to === undefined) errors.push({ path: `steps.${i}.${field}`, message: `step "${steps[i].name}" links to unknown step "${target}"; use a step name, "end" or "fail"` });
      else out.push(to);
    }
    return out;
  };
  const edges = steps.map((_, i) => links(i));
  if (errors.length) return errors;
  const cycle = findCycle(edges);
  if (cycle !== undefined) return [{ path: `steps.${cycle}`, message: `step "${steps[cycle].name}" is part of a cycle; a job's steps may not lead back to an earlier one` }];
  const reached = new Set<number>([0]);
  const queue = [0];
  while (queue.length) for (const to of edges[queue.shift()!]) if (!reached.has(to)) { reached.add(to); queue.push(to); }
  steps.forEach((step, i) => {
    if (!reached.has(i)) errors.push({ path: `steps.${i}`, message: `step "${step.name}" is unreachable: no step's onSuccess or onFailure leads to it from the first step` });
  });
  return errors;
}

/** The index of a step on a cycle, or undefined (iterative depth-first search with colours). */
function findCycle(edges: number[][]): number | undefined {
  const colour = edges.map(() => 0); // 0 unvisited, 1 on the stack, 2 done
  for (let root = 0; root < edges.length; root++) {
    if (colour[root]) continue;
    const stack: { node: number; next: number }[] = [{ node: root, next: 0 }];
    colour[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.next >= edges[top.node].length) { colour[top.node] = 2; stack.pop(); continue; }
      const to = edges[top.node][top.next++];
      if (colour[to] === 1) return to;
      if (colour[to] === 0) { colour[to] = 1; stack.push({ node: to, next: 0 }); }
    }
  }
  return undefined;
}
