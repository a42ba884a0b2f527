"""atio encoder plugin in Python: writes a GitHub-flavoured Markdown table.

Build (see build.sh):

    componentize-py -d ../../../wit -w encoder-plugin componentize --stub-wasi app -o markdown.wasm

componentize-py maps the WIT world `encoder-plugin` (wit/encoder.wit) onto Python:

* the exported interface's functions (`info`) are methods of a class named after the interface,
  `Encoder`, in the app module (this file);
* the interface's resource `session` is the class `Session` in the module `encoder`
  (encoder.py);
* the imported `output` resource arrives as `wit_world.imports.sink.Output`, whose `write`
  raises `componentize_py_types.Err(message)` when the host refuses bytes.

The data arrives as Arrow IPC stream messages, decoded by arrow_ipc.py (pyarrow cannot run in a
component); markdown.py does the rendering.
"""

from wit_world import exports
from wit_world.imports.types import FormatInfo, OptionSpec

import markdown


class Encoder(exports.Encoder):
    def info(self) -> FormatInfo:
        return FormatInfo(
            name=markdown.NAME,
            version=markdown.VERSION,
            media_type=markdown.MEDIA_TYPE,
            extensions=markdown.EXTENSIONS,
            options=[
                OptionSpec(name=name, description=description, default_value=default)
                for name, description, default in markdown.OPTIONS
            ],
        )
