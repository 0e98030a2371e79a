import { Tensor } from 'onnxruntime-node';

/** Every float16 bit pattern's value, built once: decoding an output is then one lookup per value. */
let float16Values: Float32Array | undefined;

/**
 * A float output's values as float32: as they are, or widened from float16 (a `model_fp16.onnx` converted without
 * keep_io_types answers float16, which onnxruntime-node hands over as raw 16-bit patterns in a Uint16Array).
 */
export function outputFloats(output: Tensor): Float32Array {
  if (output.type !== 'float16') return output.data as Float32Array;
  const table = (float16Values ??= float16Table());
  const bits = output.data as Uint16Array;
  const values = new Float32Array(bits.length);
  for (let index = 0; index < bits.length; index++) values[index] = table[bits[index]];
  return values;
}

function float16Table(): Float32Array {
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    table[bits] =
      exponent === 0
        ? sign * mantissa * 2 ** -24
        : exponent === 0x1f
          ? mantissa
            ? NaN
            : sign * Infinity
          : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return table;
}
