import { createRegistry, prometheus, startStatusServer } from './index';

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

describe('status server', () => {
  it('serves metrics, liveness and readiness', async () => {
    const registry = createRegistry({ process: 'test' });
    const counter = new prometheus.Counter({ name: 'cairn_test_things_total', help: 'Things.', registers: [registry] });
    counter.inc(3);
    let ready = false;
    const server = await startStatusServer({ address: '127.0.0.1:0', registry, ready: () => ready });
    try {
      const metrics = await get(server.port, '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.body).toContain('cairn_test_things_total{process="test"} 3');
      expect(metrics.body).toContain('process_cpu_seconds_total');
      expect(await get(server.port, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
      expect((await get(server.port, '/readyz')).status).toBe(503);
      ready = true;
      expect((await get(server.port, '/readyz')).status).toBe(200);
      expect((await get(server.port, '/nothing')).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
