import { InferenceSession, Tensor } from 'onnxruntime-node';
import { sessionOptions } from '../../src/embedding/providers/onnx/onnx-session';
import { OnnxGraphBuilder } from '../../test/fixtures/model/onnx-graph-builder';
import { encodeOnnxModel, OnnxDataType, OnnxGraph } from '../../test/fixtures/model/onnx-proto';
import { quantizeDynamic } from '../../test/fixtures/model/quantize-dynamic';
import { SeededRandom } from '../../test/fixtures/model/seeded-random';
import { sum } from '../lib/stats';
import { EncoderShape, projectionShapes } from './flops';

export type GemmPrecision = 'fp32' | 'int8';

export interface GemmRoofline {
  precision: GemmPrecision;
  rows: number;
  /** The layer's products, chained: their FLOPs over the time they take. */
  mixGflops: number;
  /** The mix's FLOPs per second of this process's CPU time: what a core does while it runs, however busy the machine. */
  cpuMixGflops: number;
}

/** Rows of activations per product: a full batch of the service (8,192 padded tokens) is 2 such products. */
export const GEMM_ROWS = 4096;

/**
 * This machine's attainable GEMM rate as onnxruntime reaches it: one encoder layer's weight products (query, key,
 * value and output projections, then the feed-forward's widening and narrowing) chained in one graph over
 * GEMM_ROWS rows of activations, in a session with the service's own options (threads, spinning). Chained, so that one
 * run does the whole mix and hands back one [rows, hidden] output: timing six products with six outputs would count
 * the copy of each output into JavaScript (and its fresh pages) against the GEMM. The int8 graph is made by the same
 * dynamic quantisation as `model_quantized.onnx` (onnxruntime fuses it into DynamicQuantizeMatMul). `measure` times it
 * once more, so a caller can take the rate in turn with the contenders it is compared with.
 */
export class GemmMix {
  private lastSeconds = Infinity;

  private constructor(
    readonly precision: GemmPrecision,
    private readonly flops: number,
    private readonly session: InferenceSession,
    private readonly feeds: Record<string, Tensor>,
  ) {}

  static async open(encoder: EncoderShape, precision: GemmPrecision): Promise<GemmMix> {
    const graph = layerProducts(encoder, new SeededRandom(encoder.hidden * 31 + encoder.intermediate));
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
    const input = new SeededRandom(encoder.hidden).normals(GEMM_ROWS * encoder.hidden, 0, 1);
    const feeds = { x: new Tensor('float32', input, [GEMM_ROWS, encoder.hidden]) };
    const flops = sum(projectionShapes(encoder).map(({ k, n, count }) => 2 * GEMM_ROWS * k * n * count));
    const mix = new GemmMix(precision, flops, session, feeds);
    await mix.measure(0);
    return mix;
  }

  /** Runs the layer's products for about `seconds` (at least once): FLOP/s of wall time and of CPU time. */
  async measure(seconds = 0.4): Promise<GemmRoofline> {
    const repeats = Math.max(1, Math.round(seconds / this.lastSeconds));
    const cpuBefore = cpuSeconds();
    const started = performance.now();
    for (let index = 0; index < repeats; index++) await this.session.run(this.feeds);
    this.lastSeconds = (performance.now() - started) / 1000 / repeats;
    const cpu = (cpuSeconds() - cpuBefore) / repeats;
    return {
      precision: this.precision,
      rows: GEMM_ROWS,
      mixGflops: this.flops / this.lastSeconds / 1e9,
      cpuMixGflops: this.flops / cpu / 1e9,
    };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** This process's user + system CPU time so far, every thread included. */
export function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** x [rows, h] · Wq · Wk · Wv · Wo (each h × h) · Wup (h × i) · Wdown (i × h): one layer's products, in a chain. */
function layerProducts({ hidden, intermediate }: EncoderShape, random: SeededRandom): OnnxGraph {
  const graph = new OnnxGraphBuilder('gemm');
  let value = graph.input('x', OnnxDataType.Float, ['rows', hidden]);
  const weights: [string, number, number][] = [
    ['query', hidden, hidden],
    ['key', hidden, hidden],
    ['value', hidden, hidden],
    ['output', hidden, hidden],
    ['up', hidden, intermediate],
    ['down', intermediate, hidden],
  ];
  for (const [name, k, n] of weights) {
    // Spread sqrt(1/k) keeps each product's values near 1, far from float32's subnormals.
    graph.floats(name, [k, n], random.normals(k * n, 0, Math.sqrt(1 / k)));
    value = graph.node('MatMul', [value, name], `${name}.out`);
  }
  graph.node('Identity', [value], 'y');
  graph.output('y', OnnxDataType.Float, ['rows', hidden]);
  return graph.build();
}
