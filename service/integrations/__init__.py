"""semsearch as a retriever of RAG frameworks: :mod:`.langchain` (``pip install 'semsearch[langchain]'``)
and :mod:`.llamaindex` (``pip install 'semsearch[llamaindex]'``). Both speak to a running service over HTTP
through :mod:`service.client`."""
