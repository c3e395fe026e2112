/** The backends an engine runs on, for the status bar: forward passes first where they differ from gradients'. */
export function backendLabel(info: { backend: string; forwardBackend?: string }): string {
  return info.forwardBackend && info.forwardBackend !== info.backend ? `${info.forwardBackend} + ${info.backend}` : info.backend;
}
