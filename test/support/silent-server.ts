/** A TCP server that accepts connections and reads requests but never writes a byte: a stuck mirror, a swallowing firewall. */
export interface SilentServer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  connections(): number;
  stop(): void;
}

export function startSilentServer(): SilentServer {
  let connections = 0;
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: () => void connections++, data() {} } });
  return { url: `http://127.0.0.1:${server.port}`, port: server.port, connections: () => connections, stop: () => server.stop(true) };
}
