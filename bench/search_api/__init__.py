"""Face search through the API (boto3 against `local.serve`): LFW rank-1, threshold 80, latency at 1k and 100k.

    .venv/bin/python -m bench.search_api                 # full run (~40 min on this 2-CPU box)
    .venv/bin/python -m bench.search_api --limit 50      # 50 people, a couple of minutes
    .venv/bin/python -m bench.search_api --endpoint http://127.0.0.1:8085 --access-key-id ... \\
        --secret-access-key ... --backend http://127.0.0.1:<moto port>   # against a running `make serve`

What it does, all through boto3's "rekognition" client, one request at a time (client wall time):
1. LFW gallery (~1k faces, gallery.py): the people of the shared LFW View 2 folds with >= 2 photos (801
   people, 3,330 more photos). The first photo of each is indexed with IndexFaces (ExternalImageId=<Name>);
   when it holds several faces the one nearest the photo centre (LFW labels the centre face) is kept and
   the others are removed with DeleteFaces. The report says how often `MaxFaces=1` (the *largest* face)
   would have enrolled the wrong person.
2. Probes (probes.py): every other photo of those people, SearchFacesByImage(MaxFaces=5,
   FaceMatchThreshold=0) on the photo as it is. rank-1 = the top match is the probe's person; "correct >=
   80" / "wrong >= 80" = the top match is right / somebody else at Similarity >= 80 (Rekognition's default
   threshold). Probes whose searched face is off-centre are searched again on a crop around their centre
   face (found with DetectFaces): the second rank-1 line.
3. 100k (large.py, padding.py): a second collection gets the first --pad-people (100) gallery photos
   through IndexFaces, then is padded to --pad (100,000) faces with synthetic unit vectors
   (np.random.default_rng(0)) through the service's own `EmbeddingIndex.bulk_load`, against the server's
   backend: full shards of up to 100,000 rows, not the tiered layout one IndexFaces at a time leaves (the
   report prints the layout). Then a cold and warm search, --index-at-pad (3) IndexFaces at 100k, and
   --latency-probes (200) probe photos searched against the 1k and the 100k collection, interleaved.
4. Where the time of a search goes (breakdown.py), measured in this process on the same photos: JPEG
   decode, detect + align + embed (the int8 pipeline), the index's scanner over the padded collection's
   shards (warm), the storage reads against moto (collections.get, faces.get_many), a DescribeCollection
   round trip, and moto's cost of one transaction action before and after the padding.

Needs ../shared (or $FACESEARCH_SHARED); exits 0 with a message when it is missing. Never copies LFW.
Starts `python -m local.serve` itself on a free port (own keys, own moto) unless --endpoint is given; the
padding and the breakdown's storage part need the backend endpoint (--backend; automatic when the bench
starts the server). A benchmark: it prints numbers and asserts nothing about time.
"""
