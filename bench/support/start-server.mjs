// Starts a server process (rnn-node serve, or a peer) for the serving benches; resolves with
// { child, url } once it prints "listening on http://...".
import { spawn } from 'node:child_process';

export function startServer(args) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk) => {
      text += chunk;
      const m = /listening on (http:\/\/[0-9.:]+)/.exec(text);
      if (!m) return;
      child.stdout.off('data', onData);
      child.stdout.resume(); // keep draining its later lines
      resolve({ child, url: m[1] });
    };
    child.stdout.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code})`)));
  });
}
