// simple-peer's prebuilt browser bundle (its default entry needs Node's `global` under Vite).
declare module 'simple-peer/simplepeer.min.js' {
  import SimplePeer from 'simple-peer';
  export default SimplePeer;
}
