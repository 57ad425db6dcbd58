import http from 'node:http';

/** Told of each event's data, and of the `performance.now()` at which the chunk that completed it arrived. */
export type OnEventData = (data: string, at: number) => void;

/**
 * Server-Sent Events text to events, by the HTML standard's parsing rules
 * for what the bench reads: lines end in CRLF, LF or CR; a blank line ends
 * an event; a line starting with `:` is a comment (a heartbeat); `data`
 * lines are joined with LF; an event without data is not dispatched. Other
 * fields (`id`, `event`, `retry`) are read past.
 */
export class SseParser {
  /** The text after the last complete line. */
  private pending = '';
  private data: string[] = [];

  constructor(private readonly onData: (data: string) => void) {}

  push(chunk: string): void {
    const text = this.pending + chunk;
    // A CR at the end may be the first half of a CRLF: the line it ends waits for the next chunk.
    const complete = text.endsWith('\r') ? text.slice(0, -1) : text;
    const lines = complete.split(/\r\n|\r|\n/);
    this.pending = (lines.pop() ?? '') + text.slice(complete.length);
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onData(this.data.join('\n'));
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== 'data') return;
    const value = colon < 0 ? '' : line.slice(colon + 1);
    this.data.push(value.startsWith(' ') ? value.slice(1) : value);
  }
}

/** An open event stream. */
export interface EventStream {
  /** Closes the stream; rejects if it had ended or failed before, on the server's side. */
  close(): Promise<void>;
}

/**
 * Opens GET `url` with `Accept: text/event-stream` on a connection of its
 * own and resolves once a 200 head has arrived; another status rejects with
 * the body. Each event's data then goes to `onData`.
 */
export function openEventStream(url: string, onData: OnEventData): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers: { accept: 'text/event-stream' } }, (response) => {
      response.setEncoding('utf8');
      if (response.statusCode !== 200) {
        let body = '';
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => reject(new Error(`GET ${url}: HTTP ${response.statusCode} ${body}`)));
        return;
      }
      let closing = false;
      let ended: Error | null = null;
      let at = 0;
      const parser = new SseParser((data) => onData(data, at));
      response.on('data', (chunk: string) => {
        at = performance.now();
        parser.push(chunk);
      });
      response.on('close', () => {
        if (!closing) ended ??= new Error(`GET ${url}: the stream ended before the reader closed it`);
      });
      response.on('error', (error) => {
        if (!closing) ended ??= error;
      });
      resolve({
        close: async () => {
          closing = true;
          request.destroy();
          if (ended !== null) throw ended;
        },
      });
    });
    request.on('error', reject);
  });
}
