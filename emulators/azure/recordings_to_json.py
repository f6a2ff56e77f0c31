"""Convert the VCR recordings inside the azure-keyvault-secrets sdist to plain JSON.

Usage: recordings_to_json.py SDIST.zip OUT_DIR

Each ``tests/recordings/<name>.yaml`` becomes ``OUT_DIR/<name>.json``: a list of
``{"method", "uri", "request_body", "status", "headers", "body"}`` with header names in
lower case and each header's first value (the requests-based recordings list them as one-item lists,
the aiohttp-based ones as strings).
"""

import json
import os
import sys
import zipfile

import yaml


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads the aiohttp recordings' Python object tags (the response URL
    objects) as nothing: only the request and response fields are kept."""


_Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *_: None)


def interaction(item):
    request, response = item["request"], item["response"]
    headers = {k.lower(): v[0] if isinstance(v, list) else v
               for k, v in response["headers"].items()}
    return {
        "method": request["method"],
        "uri": request["uri"],
        "request_body": request["body"],
        "status": response["status"]["code"],
        "headers": headers,
        "body": response["body"]["string"],
    }


def main(sdist, out_dir):
    count = 0
    with zipfile.ZipFile(sdist) as archive:
        for name in sorted(archive.namelist()):
            if "/tests/recordings/" not in name or not name.endswith(".yaml"):
                continue
            recording = yaml.load(archive.read(name), Loader=_Loader)
            items = [interaction(i) for i in recording["interactions"]]
            count += len(items)
            target = os.path.join(out_dir, os.path.basename(name)[: -len(".yaml")] + ".json")
            with open(target, "w", encoding="utf-8") as f:
                json.dump(items, f, indent=1)
    print(f"{count} recorded interactions written to {out_dir}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
