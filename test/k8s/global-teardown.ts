/** Jest global teardown: stops the API server and etcd that global-setup.ts started. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.cairnTestApiServer?.stop();
  globalThis.cairnTestApiServer = undefined;
}
