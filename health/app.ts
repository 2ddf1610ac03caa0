// The app collector: GET /readyz (200 once the app serves and reaches both databases; docs/app-contract.md).
import type { AppFacts } from "./facts.ts";
import { describeError, withTimeout } from "./util.ts";

export async function collectApp(url: string, timeoutMs: number): Promise<AppFacts> {
  try {
    const status = await withTimeout(timeoutMs, async (signal) => {
      const r = await fetch(`${url}/readyz`, { signal });
      await r.arrayBuffer().catch(() => undefined);
      return r.status;
    });
    return { checked: true, url, ready: status === 200, ...(status === 200 ? {} : { status }) };
  } catch (e) {
    return { checked: true, url, ready: false, error: describeError(e) };
  }
}
