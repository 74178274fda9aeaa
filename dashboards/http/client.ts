/**
 * `conduitwatch sql` against the process that holds a data directory: it reads the directory's
 * query-endpoint.json (written by `serveStore`) and sends the query to that endpoint.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PipelineError } from '../../core/errors.ts';
import { ENDPOINT_FILE, type EndpointFile } from './server.ts';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The endpoint serving `dir`, or undefined when none is running. */
export const endpointOf = async (dir: string): Promise<EndpointFile | undefined> => {
  let info: EndpointFile;
  try {
    info = JSON.parse(await readFile(join(dir, ENDPOINT_FILE), 'utf8')) as EndpointFile;
  } catch {
    return undefined;
  }
  return typeof info.url === 'string' && alive(info.pid) ? info : undefined;
};

export interface Credentials {
  user?: string;
  password?: string;
  token?: string;
}

/** Runs one query on a ClickHouse HTTP endpoint; an error carries the server's message. */
export const queryEndpoint = async (url: string, sql: string, format: string, auth: Credentials = {}, settings: Record<string, string> = {}): Promise<string> => {
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=UTF-8' };
  if (auth.token) headers.authorization = `Bearer ${auth.token}`;
  else if (auth.password !== undefined) headers.authorization = `Basic ${Buffer.from(`${auth.user ?? 'default'}:${auth.password}`).toString('base64')}`;
  let res: Response;
  try {
    const params = new URLSearchParams({ default_format: format, ...settings });
    res = await fetch(`${url}/?${params}`, { method: 'POST', body: sql, headers });
  } catch (e) {
    throw new PipelineError('not_connected', `Cannot reach the query endpoint at ${url}: ${(e as Error).message}`, { url }, { cause: e });
  }
  const text = await res.text();
  if (!res.ok) {
    const hint = res.status === 401 ? ' Set CONDUITWATCH_QUERY_PASSWORD or CONDUITWATCH_QUERY_TOKEN to what serve was started with.' : '';
    throw new PipelineError(res.status === 401 ? 'config_invalid' : 'unrecoverable', `${text.trim()}${hint}`, { url, status: res.status });
  }
  return text;
};
