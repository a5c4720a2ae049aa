/** Samples GET /ping latency every 10 ms for `seconds`, from its own process, and prints the samples as JSON. */
export {};
const [url, seconds] = [process.argv[2]!, Number(process.argv[3])];
const samples: number[] = [];
const end = performance.now() + seconds * 1000;
while (performance.now() < end) {
  const start = performance.now();
  await (await fetch(`${url}/ping`)).text();
  samples.push(performance.now() - start);
  await Bun.sleep(10);
}
console.log(JSON.stringify(samples));
