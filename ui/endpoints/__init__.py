"""The app's endpoints, one module per tab: what the widgets and ``gradio_client`` call.

Each endpoint is a function of the model host (``ui.host.ModelHost``) and the inputs of its tab; it
builds the task, hands it to ``host.generate`` and returns, in order, what its tab shows.
``ui.service.Studio`` makes them the host's methods, the API's ``/text_to_image``, ``/control``, ...
"""
