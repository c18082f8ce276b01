#!/usr/bin/env node
// npx edgegate check <options module>
// npx edgegate explain <options module> <url> [--method M] [--cookie C] [--header "name: value"]
//
// The options module is the one proxy.ts / middleware.ts and next.config.ts import (a
// gate.ts exporting `options`, `gateOptions` or a default). `check` builds a gate from it
// as `next build` would; `explain` shows how the gate decides one request, step by step,
// and what it answers. Every decision is the engine's, as in the app: this only prints.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { EdgeGateError, createGate } from "./index.js";

const USAGE = `usage: edgegate check <options module>
       edgegate explain <options module> <url> [--method M] [--cookie C] [--header "name: value"]…`;

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code) => (text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const green = paint(32);
const red = paint(31);
const dim = paint(2);
const bold = paint(1);

/** The options a module exports: `options`, `gateOptions` or its default. */
async function loadOptions(file) {
  const path = resolve(file);
  let module;
  try {
    module = await import(pathToFileURL(path).href);
  } catch (error) {
    if (error?.code !== "ERR_UNKNOWN_FILE_EXTENSION" || !/\.[mc]?tsx?$/.test(path)) throw error;
    module = await importTypeScript(path);
  }
  const options = module.options ?? module.gateOptions ?? module.default;
  if (options === undefined) throw new Error(`${file} exports no options (export const options, gateOptions, or a default)`);
  return typeof options === "function" ? options(process.env) : options;
}

// A .ts module where Node cannot strip types itself: compiled with the project's own
// TypeScript into a file beside it (so its relative imports resolve), imported, removed.
async function importTypeScript(path) {
  let ts;
  try {
    ts = createRequire(join(process.cwd(), "package.json"))("typescript");
  } catch {
    throw new Error(`${basename(path)} is TypeScript: install typescript in this project (npm i -D typescript), or run on Node 22.18+`);
  }
  const source = readFileSync(path, "utf8");
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    fileName: path,
  });
  // JSON modules need their import attribute in Node's ESM (a bundler adds it itself).
  const code = outputText.replace(/(from\s+["'][^"']+\.json["'])(\s*;)/g, '$1 with { type: "json" }$2');
  const compiled = join(dirname(path), `.edgegate-${basename(path).replace(/\.[mc]?tsx?$/, "")}-${process.pid}.mjs`);
  writeFileSync(compiled, code);
  try {
    return await import(pathToFileURL(compiled).href);
  } finally {
    rmSync(compiled, { force: true });
  }
}

function parseRequest(args) {
  const [url, ...rest] = args;
  if (!url) throw new Error(USAGE);
  let method = "GET";
  const headers = [];
  for (let i = 0; i < rest.length; i += 2) {
    const [flag, value] = [rest[i], rest[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    if (flag === "--method") method = value.toUpperCase();
    else if (flag === "--cookie") headers.push(["cookie", value]);
    else if (flag === "--header") {
      const at = value.indexOf(":");
      if (at < 1) throw new Error(`--header "${value}": expected "name: value"`);
      headers.push([value.slice(0, at).trim(), value.slice(at + 1).trim()]);
    } else throw new Error(`unknown flag ${flag}\n${USAGE}`);
  }
  return { method, url: new URL(url).href, headers };
}

/** What the gate answers, in a line. */
function answer(decision) {
  const cookies = decision.setCookies?.length ? dim(` (+${decision.setCookies.length} Set-Cookie)`) : "";
  switch (decision.action) {
    case "redirect":
      return `${decision.status} → ${decision.location}${cookies}`;
    case "respond": {
      const location = decision.headers.find(([name]) => name === "location")?.[1];
      return `${decision.status}${location ? ` → ${location}` : ""}${decision.body ? ` ${dim(decision.body.slice(0, 120))}` : ""}${cookies}`;
    }
    default:
      if (decision.passThrough) return "on into the app, unchanged";
      return `on ${decision.destination ? `to ${decision.destination}` : decision.rewrite ? `into the app at ${decision.rewrite}` : "into the app"}${
        decision.headerChanges.added.some(([name]) => name === "authorization") ? " with the bearer" : ""
      }${cookies}`;
  }
}

async function main([command, file, ...rest]) {
  if (!file || !["check", "explain"].includes(command)) throw new Error(USAGE);
  const options = await loadOptions(file);
  if (command === "check") {
    await createGate(options);
    console.log(`${green("✓")} ${file}: the options build a gate`);
    return 0;
  }
  const request = parseRequest(rest);
  const gate = await createGate(options);
  const trace = await gate.explain(request);
  console.log(bold(`${request.method} ${request.url}`));
  const width = Math.max(...trace.steps.map((s) => s.step.length));
  for (const { step, ok, detail } of trace.steps) {
    console.log(`  ${ok ? green("✓") : red("✗")} ${step.padEnd(width)}  ${ok ? dim(detail) : detail}`);
  }
  const decision = await gate.decide(request);
  const ok = decision.code.startsWith("OK_");
  console.log(`${ok ? green(decision.code) : red(decision.code)}: ${answer(decision)}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof EdgeGateError) console.error(`${red("✗")} ${error.code}: ${error.message}`);
    else console.error(error?.message ?? error);
    process.exit(error instanceof EdgeGateError ? 1 : 2);
  },
);
