"""Built-in benchmark tasks, one module each (registered in :mod:`memkit.bench`)."""
