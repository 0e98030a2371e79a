import { InferenceSession, Tensor } from 'onnxruntime-node';
import { sessionOptions } from '../../src/embedding/providers/onnx/onnx-session';
import { OnnxGraphBuilder } from '../../test/fixtures/model/onnx-graph-builder';
import { encodeOnnxModel, OnnxDataType, OnnxGraph } from '../../test/fixtures/model/onnx-proto';
import { quantizeDynamic } from '../../test/fixtures/model/quantize-dynamic';
import { SeededRandom } from '../../test/fixtures/model/seeded-random';
import { sum } from '../lib/stats';
import { EncoderShape, projectionShapes } from './flops';

export type GemmPrecision = 'fp32' | 'int8';

export interface GemmShapeRate {
  /** rows × K × N */
  shape: string;
  /** Products of this shape per layer. */
  count: number;
  gflops: number;
}

export interface GemmRoofline {
  precision: GemmPrecision;
  rows: number;
  shapes: GemmShapeRate[];
  /** The layer's mix: its FLOPs over the time its products take, each at its own measured rate. */
  mixGflops: number;
  /** The fastest single shape. */
  bestGflops: number;
  /** The mix's FLOPs per second of this process's CPU time: what a core does while it runs, however busy the machine. */
  cpuMixGflops: number;
}

/** Rows of activations per product: a full batch of the service (8,192 padded tokens) is 2 such products. */
export const GEMM_ROWS = 4096;

/**
 * This machine's attainable GEMM rate as onnxruntime reaches it: a graph of one MatMul per weight shape of the
 * model (the int8 one made by the same dynamic quantisation as `model_quantized.onnx`, which onnxruntime fuses into
 * DynamicQuantizeMatMul), in a session with the service's own options (threads, spinning). `measure` times each shape
 * once more, so a caller can take the rate in turn with the contenders it is compared with.
 */
export class GemmMix {
  private constructor(
    readonly precision: GemmPrecision,
    private readonly shapes: { k: number; n: number; count: number }[],
    private readonly products: TimedMatMul[],
  ) {}

  static async open(encoder: EncoderShape, precision: GemmPrecision): Promise<GemmMix> {
    const shapes = projectionShapes(encoder);
    const products = await Promise.all(shapes.map(({ k, n }) => openMatMul(k, n, precision)));
    const mix = new GemmMix(precision, shapes, products);
    for (const product of products) await product.run(2);
    return mix;
  }

  /** One timing of each shape, about `seconds` long (at least one product): short enough to sit between passes. */
  async measure(seconds = 0.2): Promise<GemmRoofline> {
    const rates: (GemmShapeRate & { flops: number; seconds: number; cpuSeconds: number })[] = [];
    for (const [index, { k, n, count }] of this.shapes.entries()) {
      const product = this.products[index];
      const repeats = Math.max(1, Math.round(seconds / product.lastSeconds));
      const cpuBefore = cpuSeconds();
      const each = await product.run(repeats);
      const cpu = (cpuSeconds() - cpuBefore) / repeats;
      const flops = 2 * GEMM_ROWS * k * n;
      rates.push({
        shape: `${GEMM_ROWS} × ${k} × ${n}`,
        count,
        flops,
        seconds: each,
        cpuSeconds: cpu,
        gflops: flops / each / 1e9,
      });
    }
    const totalFlops = sum(rates.map(({ flops, count }) => flops * count));
    const totalSeconds = sum(rates.map(({ seconds, count }) => seconds * count));
    const totalCpu = sum(rates.map(({ cpuSeconds: cpu, count }) => cpu * count));
    return {
      precision: this.precision,
      rows: GEMM_ROWS,
      shapes: rates.map(({ shape, count, gflops }) => ({ shape, count, gflops })),
      mixGflops: totalFlops / totalSeconds / 1e9,
      bestGflops: Math.max(...rates.map(({ gflops }) => gflops)),
      cpuMixGflops: totalFlops / totalCpu / 1e9,
    };
  }

  release(): Promise<void> {
    return Promise.all(this.products.map((product) => product.release())).then(() => undefined);
  }
}

/** This process's user + system CPU time so far, every thread included. */
export function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

interface TimedMatMul {
  /** Seconds per product, from `repeats` products in a row. */
  run(repeats: number): Promise<number>;
  /** What the last run measured per product. */
  readonly lastSeconds: number;
  release(): Promise<void>;
}

async function openMatMul(k: number, n: number, precision: GemmPrecision): Promise<TimedMatMul> {
  const graph = matMulGraph(k, n, new SeededRandom(k * 31 + n));
  const model = encodeOnnxModel({
    irVersion: 8,
    opsetVersion: 17,
    producerName: 'embedding-tasks bench',
    graph:
      precision === 'int8'
        ? quantizeDynamic(graph, { weightType: 'int8', perChannel: false, reduceRange: false, format: 'QOperator' })
        : graph,
  });
  const session = await InferenceSession.create(model, sessionOptions({ device: 'cpu' }, ['cpu']));
  const input = new SeededRandom(n).normals(GEMM_ROWS * k, 0, 1);
  const feeds = { x: new Tensor('float32', input, [GEMM_ROWS, k]) };
  const timed = {
    lastSeconds: Infinity,
    run: async (repeats: number) => {
      const started = performance.now();
      for (let index = 0; index < repeats; index++) await session.run(feeds);
      timed.lastSeconds = (performance.now() - started) / 1000 / repeats;
      return timed.lastSeconds;
    },
    release: () => session.release(),
  };
  return timed;
}

/** y = x · W, W a [k, n] weight of the model's spread, x [rows, k]. */
function matMulGraph(k: number, n: number, random: SeededRandom): OnnxGraph {
  const graph = new OnnxGraphBuilder('gemm');
  graph.input('x', OnnxDataType.Float, ['rows', k]);
  graph.floats('w', [k, n], random.normals(k * n, 0, 0.02));
  graph.node('MatMul', ['x', 'w'], 'y');
  graph.output('y', OnnxDataType.Float, ['rows', n]);
  return graph.build();
}
