// AudioWorklet processor: the microphone, downmixed to mono, in chunks of `chunk` samples
// posted to the model's worker over the MessagePort the page hands over ({port}); the page
// itself only gets the level of each chunk for its meter.
class Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = options.processorOptions.chunk;
    this.buffer = new Float32Array(this.size);
    this.filled = 0;
    this.energy = 0;
    this.sink = null;
    this.running = true;
    this.port.onmessage = ({ data }) => {
      if (data.port) this.sink = data.port;
      if (data.stop) this.running = false;
    };
  }

  process(inputs) {
    const channels = inputs[0];
    if (channels && channels.length > 0) {
      const frames = channels[0].length;
      const n = channels.length;
      for (let i = 0; i < frames; i++) {
        let s = 0;
        for (let c = 0; c < n; c++) s += channels[c][i];
        s /= n;
        this.buffer[this.filled++] = s;
        this.energy += s * s;
        if (this.filled === this.size) this.flush();
      }
    }
    return this.running;
  }

  flush() {
    const chunk = this.buffer;
    this.sink?.postMessage(chunk, [chunk.buffer]);
    this.port.postMessage({ rms: Math.sqrt(this.energy / this.size), seconds: this.size / sampleRate });
    this.buffer = new Float32Array(this.size);
    this.filled = 0;
    this.energy = 0;
  }
}

registerProcessor("ragasense-capture", Capture);
