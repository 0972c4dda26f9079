// Compiles ../src/*.sol with the pinned solc (package.json) and writes one
// <Name>.json ({source, abi, bin}) per contract into the directory given as
// the first argument, in the shape contracts.Load reads.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

// Kaia v1.0.3 runs the Shanghai EVM rules; later targets would emit
// opcodes (MCOPY, TSTORE) the chain may refuse.
const EVM_VERSION = 'shanghai';

const out = process.argv[2];
if (!out) {
  console.error('usage: node compile.js OUTDIR');
  process.exit(2);
}
const srcDir = path.join(__dirname, '..', 'src');
const files = fs.readdirSync(srcDir).filter((f) => f.endsWith('.sol')).sort();
const sources = {};
for (const f of files) {
  sources[f] = { content: fs.readFileSync(path.join(srcDir, f), 'utf8') };
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    evmVersion: EVM_VERSION,
    optimizer: { enabled: true, runs: 200 },
    // No metadata hash: the bytecode then depends only on the sources and
    // the compiler, not on comments' whitespace or file paths.
    metadata: { bytecodeHash: 'none' },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const result = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (result.errors || []).filter((e) => e.severity === 'error');
for (const e of result.errors || []) {
  console.error(e.formattedMessage);
}
if (errors.length > 0) {
  process.exit(1);
}
fs.mkdirSync(out, { recursive: true });
for (const f of files) {
  // Only the contract named after its file is an artifact; interfaces
  // declared beside it are not.
  const name = path.basename(f, '.sol');
  const c = result.contracts[f][name];
  if (!c) {
    console.error(`${f} declares no contract ${name}`);
    process.exit(1);
  }
  const art = {
    source: `contracts/src/${f} (solc ${solc.version()}, evm ${EVM_VERSION}, optimizer 200 runs)`,
    abi: c.abi,
    bin: '0x' + c.evm.bytecode.object,
  };
  fs.writeFileSync(path.join(out, name + '.json'), JSON.stringify(art, null, 2) + '\n');
}
