// The fetch the openai client should use on this Node. openai v4 fetches through node-fetch 2,
// whose end-of-stream check misfires on some Node builds (Debian 12's nodejs
// 18.20.4+dfsg-1~deb12u3 among them; nodejs/node#63989): every chunked keep-alive response,
// from any server, fails with "Premature close". A user on such a machine must pass Node's own
// fetch to the client, so the tests do the same there, and say so; elsewhere they keep the
// client's default transport.
import http from "node:http";
import nodeFetch from "node-fetch";

async function nodeFetchStreamsWork() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    res.write("data: 1\n\n");
    setTimeout(() => res.end("data: [DONE]\n\n"), 5);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const agent = new http.Agent({ keepAlive: true });
  try {
    const r = await nodeFetch(`http://127.0.0.1:${server.address().port}/`, { agent });
    for await (const _ of r.body);
    return true;
  } catch (e) {
    return false;
  } finally {
    agent.destroy();
    server.close();
  }
}

export const clientFetch = (await nodeFetchStreamsWork()) ? undefined : globalThis.fetch;
if (clientFetch)
  console.log(`note - node-fetch cannot read chunked streams on Node ${process.version}; the client uses Node's fetch`);
