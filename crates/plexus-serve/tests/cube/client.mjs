// The official Cube JavaScript client (@cubejs-client/core, pinned in package.json) against a
// Plexus server's Cube-compatible REST API. Run by cargo test; install with
// `npm ci --prefix crates/plexus-serve/tests/cube`.
//
// Environment:
//   PLEXUS_URL    server base URL, e.g. http://127.0.0.1:8080 (the API is at /cubejs-api/v1)
//   PLEXUS_TOKEN  optional; sent verbatim as the Authorization header (no "Bearer " prefix)
//   PLEXUS_QUERY  a Cube query as JSON, e.g. {"measures":["Persons.count"]}
//
// Prints one JSON object on stdout:
//   {"tablePivot", "chartPivot", "seriesNames", "rawData", "annotation", "cubes", "members", "sql"}
// On any error prints the message on stderr and exits 1.
//
// The client uses Node's global fetch (it has no fetch dependency of its own).
import cube from '@cubejs-client/core';

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function main() {
  const url = process.env.PLEXUS_URL;
  if (!url) fail('PLEXUS_URL is not set');
  if (!process.env.PLEXUS_QUERY) fail('PLEXUS_QUERY is not set');
  const query = JSON.parse(process.env.PLEXUS_QUERY);
  const token = process.env.PLEXUS_TOKEN || '';

  const api = cube(token, {
    apiUrl: `${url.replace(/\/+$/, '')}/cubejs-api/v1`,
    // fail fast instead of hanging a test on a server that never answers
    fetchTimeout: 60_000,
  });

  const resultSet = await api.load(query);
  const tablePivot = resultSet.tablePivot();
  const chartPivot = resultSet.chartPivot();
  const seriesNames = resultSet.seriesNames();
  const rawData = resultSet.rawData();
  const annotation = resultSet.annotation();

  const meta = await api.meta();
  const cubes = meta.cubes.map((c) => c.name);
  const members = meta.cubes.flatMap((c) => [
    ...(c.measures || []).map((m) => m.name),
    ...(c.dimensions || []).map((m) => m.name),
    ...(c.segments || []).map((m) => m.name),
  ]);
  // What a query builder does with meta: list members by type and resolve the query's members.
  for (const type of ['measures', 'dimensions', 'segments']) {
    meta.membersForQuery(query, type);
  }
  const queryMembers = [
    ...(query.measures || []).map((m) => [m, 'measures']),
    ...(query.dimensions || []).map((m) => [m, 'dimensions']),
    ...(query.timeDimensions || []).map((td) => [td.dimension, 'dimensions']),
    ...(query.segments || []).map((m) => [m, 'segments']),
  ];
  for (const [name, type] of queryMembers) {
    const member = meta.resolveMember(name, type);
    if ('error' in member) fail(`meta: ${member.error}`);
  }

  const sqlQuery = await api.sql(query);
  const sql = Array.isArray(sqlQuery) ? sqlQuery.map((q) => q.sql()) : sqlQuery.sql();
  if (typeof sql !== 'string' && !Array.isArray(sql)) fail(`sql() returned ${JSON.stringify(sql)}`);

  process.stdout.write(
    `${JSON.stringify({ tablePivot, chartPivot, seriesNames, rawData, annotation, cubes, members, sql })}\n`,
  );
}

main().catch((e) => {
  const status = e && e.status ? ` (HTTP ${e.status})` : '';
  fail(`${(e && e.message) || String(e)}${status}`);
});
