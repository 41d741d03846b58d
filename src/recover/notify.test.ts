import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { MemoryLog } from '../log/log.js';
import { notify } from './notify.js';

describe('recovery.notifyUrl', () => {
  it('POSTs the result, a user and password in the URL sent as HTTP basic authentication', async () => {
    const received: { headers: IncomingHttpHeaders; body: string; url: string | undefined }[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request
        .on('data', (chunk) => (body += chunk))
        .on('end', () => {
          received.push({ headers: request.headers, body, url: request.url });
          response.end('ok');
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const log = new MemoryLog();
    try {
      await notify(
        `http://hook:s%40cret@127.0.0.1:${port}/result`,
        { workflow: 'recover', hostname: 'h1', result: 'succeeded', seconds: 12 },
        log,
      );
    } finally {
      server.close();
    }
    expect(log.lines.filter((line) => line.level === 'warn')).toEqual([]);
    expect(received).toHaveLength(1);
    expect(received[0]?.url).toBe('/result');
    expect(received[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('hook:s@cret').toString('base64')}`,
    );
    expect(JSON.parse(received[0]?.body ?? '')).toMatchObject({
      hostname: 'h1',
      result: 'succeeded',
    });
  });
});
