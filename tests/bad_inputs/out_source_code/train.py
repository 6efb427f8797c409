print('my training script')
