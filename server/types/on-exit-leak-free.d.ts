/** on-exit-leak-free (pino's own exit hook) ships without types: the part we use. */
declare module 'on-exit-leak-free' {
  /** Calls fn(target, event) at process exit while target is alive; holds target weakly. */
  export function register<T extends object>(target: T, fn: (target: T, event: 'exit') => void): void;
  const onExit: { register: typeof register };
  export default onExit;
}
